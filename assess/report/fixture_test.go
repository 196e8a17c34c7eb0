package report

import (
	"time"

	"github.com/bankguard/bankguard/assess"
)

// The fixed report of the tests: four clauses of the catalog, every verdict
// present, a file finding, a workbook judgement and evidence with characters
// that are dangerous in HTML and XML.

// dangerous is evidence text that must come out escaped.
const dangerous = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`

var (
	started  = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	finished = started.Add(83*time.Second + 250*time.Millisecond)
)

func sampleResults() []assess.Result {
	return []assess.Result{
		{
			Check: "signature.a1-mac", Title: "A1 requests need a valid signature", Items: []string{"5.2.2-1"},
			Verdict: assess.Pass, Reason: "A request with a tampered body was refused with 401 digest_mismatch.",
			Evidence: []assess.Evidence{{
				Title:    "request with a tampered body",
				Request:  "POST /v1/accounts/balance HTTP/1.1\nHost: gw.example.test\nSignature: [redacted]\n\n{\"account\":\"6222 **** **** 0001\"}",
				Response: "HTTP/1.1 401 Unauthorized\nContent-Type: application/problem+json\n\n{\"code\":\"digest_mismatch\"}",
			}},
			Elapsed: 120 * time.Millisecond,
		},
		{
			Check: "response.signature", Title: "A2 responses carry the bank's signature", Items: []string{"5.2.2-2"},
			Verdict: assess.Fail, Reason: "GET /v1/transfers/42 answered 200 without a Signature header labelled bank.",
			Evidence: []assess.Evidence{{
				Title:    "signed A2 read",
				Request:  "GET /v1/transfers/42?x=1&y=2 HTTP/1.1\nHost: gw.example.test",
				Response: "HTTP/1.1 200 OK\nContent-Type: text/html\n\n" + dangerous,
				Note:     "The response has no Content-Digest either.",
			}},
			Elapsed: 340 * time.Millisecond,
		},
		{
			Check: "tls.versions", Title: "Only TLS 1.2 or later is offered", Items: []string{"5.2.2-3"},
			Verdict: assess.Error, Reason: "The TLS handshake with gw.example.test:8443 failed: the certificate is not signed by the profile's CA.",
			Evidence: []assess.Evidence{{Title: "TLS 1.3 handshake", Note: "x509: certificate signed by unknown authority"}},
			Elapsed:  1500 * time.Millisecond,
		},
		{
			Check: "files.key-separation", Title: "Encryption and signing keys are different", Items: []string{"3.3.4-1"},
			Verdict: assess.Pass, Reason: "The configuration names different keys for encryption and signing.",
			Elapsed: 15 * time.Millisecond,
		},
		{
			Check: "files.secrets", Title: "No private keys or App_Secret in files", Items: []string{"3.3.4-2"},
			Verdict: assess.Fail, Reason: "1 private key found in conf/app settings.yaml.",
			Findings: []assess.Finding{
				{Rule: "private-key", Items: []string{"3.3.4-2"}, Path: "conf/app settings.yaml", Line: 12,
					Message: "A PEM private key is stored in a configuration file.", Excerpt: "signing_key: -----BEGIN PRIVATE KEY----- [redacted] <script>", Level: "error"},
				{Rule: "third-party-component", Items: []string{"3.3.4-2"}, Path: "./go.sum",
					Message: "Inventory: 12 third-party modules.", Level: "note"},
			},
			Elapsed: 45 * time.Millisecond,
		},
	}
}

func sampleClauses() []assess.Clause {
	return []assess.Clause{
		{ID: "3.3.4", Title: "密钥管理", Side: "bank", Section: 3, Verdict: assess.Fail, Items: []assess.Item{
			{ID: "3.3.4-1", Summary: "Encryption and signing use different, separated keys.",
				Method:    "检查商业银行应用程序接口加密和签名相关的设计文档和代码，是否使用了不同的密钥，且相互分离。",
				Criterion: "商业银行应用程序接口加密和签名宜分配不同的密钥，且相互分离。",
				Kinds:     []string{"file", "manual"}, Verdict: assess.Partial,
				Reason: "files.key-separation: The configuration names different keys for encryption and signing.; to be judged by the assessor in the workbook",
				Checks: []string{"files.key-separation"}},
			{ID: "3.3.4-2", Summary: "API source code holds no private keys (plain or encrypted) and local configuration files store no App_Secret or private key.",
				Method:    "检查商业银行应用程序接口相关代码是否包含私钥明文（或密文）；查看商业银行本地配置文件，是否存储了App_Secret或私钥。",
				Criterion: "商业银行应用程序接口相关代码未包含私钥明文（或密文），相关本地配置文件未存储App_Secret或私钥。",
				Kinds:     []string{"file"}, Verdict: assess.Fail,
				Reason: "files.secrets: 1 private key found in conf/app settings.yaml.", Checks: []string{"files.secrets"}},
			{ID: "3.3.4-3", Summary: "Key validity periods are set per API level, keys are renewed before expiry, leakage is guarded against, and key custodians follow the procedure.",
				Method:    "检查商业银行是否具有对不同等级的应用程序接口设置不同的密钥有效期，是否具有更新机制。",
				Criterion: "商业银行应依据应用程序接口等级设置不同的密钥有效期，并具有密钥到期更新机制。",
				Kinds:     []string{"dynamic", "manual"}, Verdict: assess.Manual,
				Reason: "to be judged by the assessor in the workbook"},
		}},
		{ID: "5.2.2", Title: "安全传输", Side: "bank", Section: 5, Verdict: assess.Fail, Items: []assess.Item{
			{ID: "5.2.2-1", Summary: "A1 traffic between bank and application party is integrity-protected, at least by a MAC.",
				Method:    "检查对于A1类，是否采用MAC校验等手段保证商业银行与应用方之间数据传输的完整性。",
				Criterion: "对于A1类，应采用MAC校验等手段，保证商业银行与应用方之间数据传输的完整性，必要时可采用数字签名技术。",
				Kinds:     []string{"dynamic"}, Verdict: assess.Pass,
				Reason: "signature.a1-mac: A request with a tampered body was refused with 401 digest_mismatch.", Checks: []string{"signature.a1-mac"}},
			{ID: "5.2.2-2", Summary: "A2 traffic between bank and application party is digitally signed for integrity and non-repudiation.",
				Method:    "检查对于A2类，是否采用数字签名等手段保证商业银行与应用方之间数据传输的完整性与不可抵赖性。",
				Criterion: "对于A2类，应采用数字签名等手段，保证商业银行与应用方之间数据传输的完整性与不可抵赖性。",
				Kinds:     []string{"dynamic"}, Verdict: assess.Fail,
				Reason: "response.signature: GET /v1/transfers/42 answered 200 without a Signature header labelled bank.", Checks: []string{"response.signature"}},
			{ID: "5.2.2-3", Summary: "Traffic uses SSL/TLS secure channels, preferably TLS 1.2 or later.",
				Method:    "检查商业银行与应用方之间数据传输是否采用SSL/TLS等安全通道连接进行通信及使用的SSL/TLS版本。",
				Criterion: "应采用SSL/TLS等安全通道连接进行安全通信，宜使用TLS1.2及以上版本。",
				Kinds:     []string{"dynamic"}, Verdict: assess.Error,
				Reason: "tls.versions: The TLS handshake with gw.example.test:8443 failed: the certificate is not signed by the profile's CA.", Checks: []string{"tls.versions"}},
		}},
		{ID: "9.2.2", Title: "密钥管理", Side: "app", Section: 9, Verdict: assess.NotTested, Items: []assess.Item{
			{ID: "9.2.2-1", Summary: "Application-party local configuration files store no App_Secret or private key for the bank's APIs.",
				Method:    "检查应用方本地配置文件中是否存储了商业银行应用程序接口的App_Secret或私钥。",
				Criterion: "应用方本地配置文件中未存储商业银行应用程序接口的App_Secret或私钥。",
				Kinds:     []string{"file"}, Verdict: assess.NotTested, Reason: "file checks were not run"},
		}},
		{ID: "10.1", Title: "接口服务层部署要求", Side: "app", Section: 10, Verdict: assess.Manual, Items: []assess.Item{
			{ID: "10.1-1", Summary: "The application party deploys firewalls, IDS/IPS and DDoS protection with effective rules at its internet boundary.",
				Method:    "检查应用方是否在互联网边界部署了具备访问控制、入侵防范相关安全防护能力的网络安全防护措施，如：防火墙、IDS/IPS、DDoS防护等。",
				Criterion: "应用方在互联网边界部署了具备访问控制、入侵防范相关安全防护能力的网络安全防护措施，并配置了有效的防护规则。",
				Kinds:     []string{"manual"}, Verdict: assess.NotApplicable,
				Reason: "workbook: not_applicable — the application party runs inside the bank's network <no internet boundary>",
				Judgement: &assess.Judgement{Verdict: assess.NotApplicable, Reason: "the application party runs inside the bank's network <no internet boundary>",
					Evidence: []string{"network diagram v3 (2026-02-11)"}, Assessor: "王审核", Date: "2026-03-01"}},
			{ID: "10.1-2", Summary: "Application-party servers reaching the bank's APIs sit in a logically isolated zone behind its internet security devices.",
				Method:    "检查应用方通过互联网、移动互联网网络访问商业银行应用程序接口相关应用服务的服务器，是否部署在应用方互联网接入安全防护设备之后的逻辑隔离区域。",
				Criterion: "应用方通过互联网、移动互联网网络访问商业银行应用程序接口相关应用服务的服务器，部署在应用方互联网接入安全防护设备之后的逻辑隔离区域。",
				Kinds:     []string{"manual"}, Verdict: assess.Manual, Reason: "to be judged by the assessor in the workbook"},
		}},
	}
}

// sampleReport returns the fixed report with its summary counted from the
// clauses.
func sampleReport() *assess.Report {
	r := &assess.Report{
		Schema: assess.ReportSchema, Spec: "T/PCAC 0008-2020", Tool: "bankguard assess 0.4.0",
		Target: "https://gw.example.test:8443/ (files: ./conf)", Started: started, Finished: finished,
		Clauses: sampleClauses(), Results: sampleResults(),
	}
	r.Summary = summarize(r.Clauses)
	return r
}

// summarize counts the clauses' and items' verdicts as assess.Assemble does.
func summarize(clauses []assess.Clause) assess.Summary {
	s := assess.Summary{Items: assess.Counts{}, Clauses: assess.Counts{}}
	sections := map[int]assess.Counts{}
	sides := map[string]assess.Counts{}
	var order []int
	for _, cl := range clauses {
		s.Clauses[cl.Verdict]++
		if sections[cl.Section] == nil {
			sections[cl.Section] = assess.Counts{}
			order = append(order, cl.Section)
		}
		if sides[cl.Side] == nil {
			sides[cl.Side] = assess.Counts{}
		}
		for _, it := range cl.Items {
			s.Items[it.Verdict]++
			sections[cl.Section][it.Verdict]++
			sides[cl.Side][it.Verdict]++
		}
	}
	for _, n := range order {
		side := "bank"
		if n >= 9 {
			side = "app"
		}
		s.Sections = append(s.Sections, assess.Section{Section: n, Side: side, Counts: sections[n]})
	}
	for _, side := range []string{"bank", "app"} {
		s.Sides = append(s.Sides, assess.Side{Side: side, Counts: sides[side]})
	}
	return s
}
