package pii_test

import (
	"fmt"

	"github.com/bankguard/bankguard/pii"
)

func ExampleMask() {
	fmt.Println(pii.Mask(pii.Card, "6219999814660352367"))
	fmt.Println(pii.Mask(pii.Account, "31230038584093948365"))
	fmt.Println(pii.Mask(pii.IDNumber, "330106197811198076"))
	fmt.Println(pii.Mask(pii.Phone, "18035413832"))
	fmt.Println(pii.Mask(pii.Name, "朱宇志"))
	fmt.Println(pii.Mask(pii.Email, "zhang.san@example.com"))
	// Output:
	// 621999*********2367
	// ****************8365
	// 3****************6
	// 180****3832
	// **志
	// z***@example.com
}

func ExampleMaskText() {
	fmt.Println(pii.MaskText("转账给6222020200112233446, 手机+86 138 1234 5678, order 20261126223116339876241510c9d"))
	// Output: 转账给622202*********3446, 手机+86 138 **** 5678, order 20261126223116339876241510c9d
}

func ExampleEngine_MaskJSON() {
	e, err := pii.NewEngine([]byte("a pseudonym key of 32 bytes or more: use a secret one"))
	if err != nil {
		panic(err)
	}
	doc := []byte(`{"card_number":"6219999814660352367","holder_name":"朱宇志","holder_id_number":"330106197811198076","memo":"还款 13812345678","balance":"60609.06"}`)
	out, n, err := e.MaskJSON(doc, &pii.Policy{
		Rules: []pii.Rule{{Path: "/holder_id_number", Action: pii.ActionDrop}},
		Scan:  true,
	})
	if err != nil {
		panic(err) // fail closed: never pass on a response that could not be masked
	}
	fmt.Println(n, string(out))
	// Output: 4 {"card_number":"621999*********2367","holder_name":"**志","memo":"还款 138****5678","balance":"60609.06"}
}
