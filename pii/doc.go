// Package pii finds, masks and pseudonymizes personal financial information: bank card and
// account numbers, resident identity numbers, mobile numbers, names and e-mail addresses.
//
// The gateway uses it to mask responses to applications and the audit bodies it stores, and to
// keep unmasked personal data out of its own logs: T/PCAC 0008-2020 3.2.5 (personal financial
// information is masked or de-identified towards applications) and 9.2.1 (no unmasked personal
// data in logs). The assessor uses the same detectors to scan log files and responses.
//
// Three layers, each usable alone:
//   - Mask formats one value of a known Kind (card 6+4, account last 4, ID 1+1, phone 3+4,
//     name last character, e-mail first character and domain).
//   - Find and MaskText detect and mask cards, ID numbers, mobile numbers and e-mail addresses in
//     free text. Names and account numbers cannot be told apart from other words and numbers in
//     free text and are not detected there.
//   - Engine.MaskJSON rewrites a JSON document by Policy: rules by JSON-pointer pattern, and a
//     scan of every other value by the detectors and by member-name hints (holder_name,
//     id_number, account_no, …), which is how names and account numbers are found. A Policy
//     applied to every response of an API is compiled once (Policy.Compile) for
//     Engine.MaskJSONCompiled.
//
// NewSlogHandler wraps a log/slog handler so that every string it logs goes through MaskText.
package pii

// Kind is a category of personal financial information; it selects the masking format.
type Kind string

// The kinds of personal data this package knows.
const (
	// Card is a bank card number (ISO/IEC 7812, Luhn check digit).
	Card Kind = "card"
	// Account is a bank account number that is not a card number.
	Account Kind = "account"
	// IDNumber is a resident identity number (GB 11643-1999) or another identity document number.
	IDNumber Kind = "id_number"
	// Phone is a telephone number, usually a mainland mobile number.
	Phone Kind = "phone"
	// Name is a person's name.
	Name Kind = "name"
	// Email is an e-mail address.
	Email Kind = "email"
)

// known reports whether k is one of the kinds above.
func (k Kind) known() bool {
	switch k {
	case Card, Account, IDNumber, Phone, Name, Email:
		return true
	}
	return false
}
