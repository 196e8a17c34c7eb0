package pages

// The stable codes of the pages' refusals: each page names its code in a
// data-error attribute of <main>, for tests and the assessor.
const (
	codeRequestInvalid       = "request_invalid"
	codeClientUnknown        = "client_unknown"
	codeRedirectURIInvalid   = "redirect_uri_invalid"
	codeSessionExpired       = "session_expired"
	codeCSRF                 = "csrf_invalid"
	codeLoginFailed          = "login_failed"
	codeTooManyAttempts      = "too_many_attempts"
	codeSecondFactorFailed   = "second_factor_failed"
	codeNotEnrolled          = "second_factor_not_enrolled"
	codeSecondFactorRequired = "second_factor_required"
	codeConsentInvalid       = "consent_invalid"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeBusy                 = "busy"
	codeInternal             = "internal"
)

// msg is a text in Chinese with its English subtitle.
type msg struct{ ZH, EN string }

var (
	msgRequestInvalid = msg{"请求无效。", "The request is not valid."}
	msgClientUnknown  = msg{"发起授权的应用未登记或已停用，本行不会将您转回该应用。",
		"The application that sent you here is not registered or no longer active; the bank will not send you back to it."}
	msgRedirectInvalid = msg{"应用提供的返回地址未经登记，为保护您的安全，本行不会跳转到该地址。",
		"The application's return address is not registered; for your safety the bank will not send you there."}
	msgSessionExpired = msg{"会话已失效。请回到应用重新发起授权。",
		"Your session has ended. Please go back to the application and start again."}
	msgTimedOut = msg{"您长时间未操作，会话已结束，请重新登录。",
		"Your session ended after a period of inactivity. Please sign in again."}
	msgCSRF = msg{"表单已失效或来源不明，操作未执行。请返回重试。",
		"The form has expired or did not come from this page; nothing was done. Please go back and try again."}
	msgLoginFailed = msg{"用户名或密码错误，或暂时无法登录。",
		"Wrong user name or password, or signing in is temporarily unavailable."}
	msgLoginEmpty      = msg{"请输入用户名和密码。", "Please enter your user name and password."}
	msgTooManyAttempts = msg{"该网络的失败尝试过多，请稍后再试。",
		"Too many failed attempts from your network. Please try again later."}
	msgTOTPFailed = msg{"动态验证码错误或已使用，请输入验证器上的新验证码。",
		"The code is wrong or has already been used. Please enter a new code from your authenticator."}
	msgTOTPLocked = msg{"验证失败次数过多，请稍后重新登录。",
		"Too many failed attempts. Please sign in again later."}
	msgNotEnrolled = msg{"此授权包含资金交易，需要动态验证码，但您尚未开通。请联系本行开通后再试。",
		"This authorization includes fund transactions and needs a one-time code, which you have not enrolled. Please contact the bank."}
	msgSecondFactorRequired = msg{"此授权需要双因素认证。请回到应用重新发起授权。",
		"This authorization needs two-factor sign-in. Please go back to the application and start again."}
	msgNoAccount   = msg{"请至少选择一个账户。", "Please choose at least one account."}
	msgBadAccount  = msg{"所选账户无效。", "An account you chose is not valid."}
	msgNoValidity  = msg{"请选择授权有效期。", "Please choose how long the authorization lasts."}
	msgBadDate     = msg{"请选择今天或之后、且不晚于协议到期日的日期。", "Please pick a date from today up to the end of the application's agreement."}
	msgRiskNotAck  = msg{"请阅读并确认资金交易风险提示。", "Please read and confirm the fund transfer risk warning."}
	msgNoAccounts  = msg{"您没有可授权的账户。", "You have no account that can be shared."}
	msgAppGone     = msg{"该应用已停用或协议已到期，无法授权。", "The application is no longer active or its agreement has ended; it cannot be authorized."}
	msgRevoked     = msg{"授权已撤销，该应用已无法再使用此授权。", "The authorization is revoked; the application can no longer use it."}
	msgLoggedOut   = msg{"您已安全退出。", "You have signed out."}
	msgNotFound    = msg{"页面不存在。", "Page not found."}
	msgConsentGone = msg{"该授权不存在。", "No such authorization."}

	msgMethodNotAllowed = msg{"不支持该请求方式。", "Method not allowed."}
	msgBusy             = msg{"服务繁忙，请稍后再试。", "The service is busy. Please try again later."}
	msgInternal         = msg{"系统暂时无法处理您的请求，请稍后再试。", "The bank cannot handle your request right now. Please try again later."}

	msgRiskWarning = msg{
		"风险提示：授权后，该应用可在有效期内以您的名义从所选账户发起转账，资金一经转出可能无法追回。请确认您信任该应用，切勿向任何人透露密码和动态验证码。",
		"Risk warning: once you authorize, this application can transfer money from the chosen accounts in your name while the authorization lasts, and money sent may not be recoverable. Make sure you trust the application, and never tell anyone your password or one-time codes.",
	}
)
