// Package catalog holds every test item of T/PCAC 0008-2020 (商业银行应用程序接口安全管理检测规范,
// the testing specification for commercial-bank open APIs) as embedded data, with a small API
// to look items up and select them.
//
// # Model
//
// A clause is a heading of the specification that has its own 检测目的 (purpose), 检测方法
// (method) and 通过标准 (pass criterion) block, such as "3.1 基本要求", "5.2.2 安全传输" or
// "7 商业银行服务终止与系统下线检测". Inside a clause, each numbered 检测方法 entry is one
// test Item, paired with the 通过标准 entry of the same number. An item's id is the clause id, a
// hyphen and the number: "5.2.2-3", "3.1-7", "7-3". Sections 3–8 test the bank (Side "bank"),
// sections 9–13 the application party (Side "app").
//
// The specification has 49 clauses and 138 items: 95 bank-side items in 30 clauses and 43
// application-side items in 19 clauses.
//
// Each item carries the Chinese texts of the source, cleaned of OCR artefacts only (spacing,
// half-width punctuation, list separators and the few character glitches named in the item's
// Note), an English one-sentence Summary of ours, and the Kinds of evidence that can decide it:
// KindDynamic (probe the target over the network), KindFile (scan configuration, source or log
// files) and KindManual (documents, interviews, contracts, records in the assessor's workbook).
//
// # Irregularities of the source
//
// The specification's text has a few structural irregularities; the catalog resolves them as
// follows and records each in the item's Note:
//
//   - 3.2.3, 3.3.1 and 11.3.1 have a single 检测方法 item 1) but number their only 通过标准
//     entry "2)". The criterion is paired with item 1 (items 3.2.3-1, 3.3.1-1, 11.3.1-1).
//   - 11.3.3 numbers only its first 检测方法 entry ("1) 数据完整性保护"); the second block,
//     "数据机密性保护：" with sub-items a)–e), carries no number. Its 通过标准 numbers both
//     entries 1) and 2), so the unnumbered block is item 11.3.3-2.
//   - 5.2.1-2 letters its 检测方法 sub-items a), c), d), e) (no b)) while its 通过标准 uses
//     a)–d). The letters are kept as in the source.
//   - Numbering is written in several ways ("1）", "2)", "4 " without a bracket, several items
//     run together on one line, "通过标准：" on the same line as the last method), and in 4.1 the
//     "通过标准：" label is a Markdown heading. None of this changes the item structure.
//   - A few character glitches are corrected: "和和" (3.1-6), "接□" (6.3-1, and the purpose of
//     8.2 and 13.1), "商业银行动终端" (3.3.2-3), "数字整数" and "商业行对" (5.2.1), "检查业银行"
//     (5.2.2-3), "商业银行否定期" (6.4-2), "实践处理" (6.5-1), "承诺承诺" (11.3.5-3).
//
// Every 检测方法 has its 通过标准: no criterion is missing. The tests check the catalog against
// the specification text in testdata/, parsed independently: the same clauses, the same item
// numbers, and the same Chinese text once whitespace, punctuation and the corrections above are
// set aside.
package catalog
