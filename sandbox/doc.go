// Package sandbox is the demo bank: an in-process mock core-banking backend that sits behind the
// bankguard gateway, with deterministic, realistic Chinese retail-banking data (customers, debit,
// savings and credit card accounts, transactions, wealth products, holdings and clearing data).
//
// It implements the sandbox that T/PCAC 0008-2020 8.1 asks a bank to offer application
// developers, and it serves the OpenAPI 3.0.3 document the gateway imports (OpenAPI), whose
// x-bankguard extension carries each API's U_API_ID, level and lifecycle status.
//
// The sandbox trusts the headers the gateway sets (Bankguard-User, Bankguard-Consent,
// Bankguard-Accounts, Bankguard-App-Id, Bankguard-Api-Id, X-Request-Id) and returns personal
// data unmasked on purpose: masking and field encryption are the gateway's job (T/PCAC 0008-2020
// 3.2.5), and the sandbox is the raw material those controls are tested on. It must never be
// exposed without the gateway in front. Within what the gateway authorized it still acts as a
// core system would: only the accounts the user shared (Bankguard-Accounts) are listed or
// reachable, a transfer names the consent it ran under and honours Idempotency-Key, and with
// Options.RequireUser a user-bound call that names no user is refused.
//
// It does play the bank's core system for payment passwords: a transfer carries the customer's
// six-digit payment password sealed to the bank's SM2 encryption key (Options.PaymentKey), the
// gateway only checks that it is sealed, and the sandbox opens it and compares it, locking the
// customer's transfers for 30 minutes after 5 consecutive failures (T/PCAC 0008-2020 3.2.5,
// 6.2.2). Each seeded customer's password is drawn from the seed (User.PaymentPassword).
package sandbox
