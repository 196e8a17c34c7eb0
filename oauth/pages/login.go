package pages

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// loginView is the body of the sign-in page.
type loginView struct {
	AppName string // "" for a self-service sign-in
}

// loginPage shows the sign-in form.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.at(w, r, stagePassword, false)
	if !ok {
		return
	}
	h.renderLogin(w, s, http.StatusOK, "", nil)
}

func (h *Handler) renderLogin(w http.ResponseWriter, s *session, status int, code string, e *msg) {
	notice := s.notice
	if notice != nil {
		h.sessions.update(s.key, func(x *session) { x.notice = nil })
	}
	v := loginView{}
	if s.pending != nil {
		v.AppName = s.pending.appName
	}
	h.render(w, status, "login", pageData{Title: msg{"登录", "Sign in"}, CSRF: s.csrf, Code: code, Error: e, Notice: notice, Body: v})
}

// login checks the user name and password (T/PCAC 0008-2020 3.2.2, 5.3.1-1).
// Unknown names, wrong passwords and locked users get the same answer
// after the same work, so that no answer tells which names exist (3.3.2).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	s, ok := h.at(w, r, stagePassword, true)
	if !ok {
		return
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if username == "" || password == "" {
		h.renderLogin(w, s, http.StatusBadRequest, codeRequestInvalid, &msgLoginEmpty)
		return
	}
	ctx, now, ip := r.Context(), h.now(), clientIP(r)
	if blocked, wait := h.limiter.ipBlocked(ip, now); blocked {
		h.tooMany(w, wait)
		return
	}
	var user *User
	if len(username) <= 64 {
		u, err := h.users.UserByName(ctx, username)
		if err != nil && !errors.Is(err, oauth.ErrNotFound) {
			h.internal(w, r, "login: user lookup", err)
			return
		}
		user = u
	}
	key := limiterKey(user, username)
	locked := h.limiter.locked(key, now)
	hash := h.dummyHash
	if user != nil {
		hash = user.PasswordHash
	}
	good, err := h.verify(ctx, hash, password)
	if err != nil {
		h.message(w, http.StatusServiceUnavailable, codeBusy, msgBusy)
		return
	}
	if user == nil || locked || !good {
		lockedNow := false
		if locked {
			h.limiter.failIP(ip, now)
		} else {
			lockedNow = h.limiter.fail(key, ip, now)
		}
		if user != nil {
			h.events.AddEvent(ctx, user.ID, EventLoginFailed, "from "+maskIP(ip))
			if lockedNow {
				h.events.AddEvent(ctx, user.ID, EventLocked, "from "+maskIP(ip))
			}
		}
		h.renderLogin(w, s, http.StatusUnauthorized, codeLoginFailed, &msgLoginFailed)
		return
	}
	h.limiter.succeed(key)
	needTOTP := len(user.TOTPSecret) > 0
	if s.pending != nil {
		needTOTP = s.pending.fund
		if needTOTP && len(user.TOTPSecret) == 0 {
			h.end(w, s)
			h.message(w, http.StatusForbidden, codeNotEnrolled, msgNotEnrolled)
			return
		}
	}
	id, err := h.sessions.rotate(s.key, now, func(x *session) {
		x.userID, x.created, x.notice = user.ID, now, nil
		x.ref = "" // a fresh public handle for the signed-in session
		if needTOTP {
			x.stage = stageTOTP
		} else {
			x.stage, x.acr, x.authAt = stageDone, oauth.ACROneFactor, now
		}
	})
	if err != nil {
		h.rotateFailed(w, r, err)
		return
	}
	setCookie(w, id)
	to := pathTOTP
	if !needTOTP {
		h.events.AddEvent(ctx, user.ID, EventLogin, "password, from "+maskIP(ip))
		to = pathConsent
		if s.pending == nil {
			to = pathAccount
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// limiterKey is the brute-force counter of a sign-in: the customer id when
// the name is known (whatever spelling found it), else the name itself.
func limiterKey(u *User, username string) string {
	if u != nil {
		return "id:" + u.ID
	}
	return "name:" + strings.ToLower(username)
}

// verify runs VerifyPassword within the concurrency bound.
func (h *Handler) verify(ctx context.Context, hash, pw string) (bool, error) {
	select {
	case h.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-h.hashSlots }()
	return VerifyPassword(hash, pw), nil
}

func (h *Handler) tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(wait/time.Second) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	h.message(w, http.StatusTooManyRequests, codeTooManyAttempts, msgTooManyAttempts)
}

func (h *Handler) rotateFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errGone) {
		clearCookie(w)
		h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
		return
	}
	h.message(w, http.StatusServiceUnavailable, codeBusy, msgBusy)
}

// totpPage shows the second-factor form.
func (h *Handler) totpPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.at(w, r, stageTOTP, false)
	if !ok {
		return
	}
	h.renderTOTP(w, s, http.StatusOK, "", nil)
}

func (h *Handler) renderTOTP(w http.ResponseWriter, s *session, status int, code string, e *msg) {
	h.render(w, status, "totp", pageData{Title: msg{"双因素认证", "Two-factor verification"}, CSRF: s.csrf, Code: code, Error: e})
}

// totp checks the RFC 6238 code: the second factor that fund transactions
// need (T/PCAC 0008-2020 3.2.2-2). A code is accepted once; failures count
// towards the user's lockout like wrong passwords.
func (h *Handler) totp(w http.ResponseWriter, r *http.Request) {
	s, ok := h.at(w, r, stageTOTP, true)
	if !ok {
		return
	}
	ctx, now, ip := r.Context(), h.now(), clientIP(r)
	if blocked, wait := h.limiter.ipBlocked(ip, now); blocked {
		h.tooMany(w, wait)
		return
	}
	user, err := h.users.UserByID(ctx, s.userID)
	if err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			h.end(w, s)
			h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
			return
		}
		h.internal(w, r, "totp: user lookup", err)
		return
	}
	key := limiterKey(user, "")
	if h.limiter.locked(key, now) {
		h.backToLogin(w, r, s, &msgTOTPLocked)
		return
	}
	step, match := matchTOTP(user.TOTPSecret, strings.TrimSpace(r.PostForm.Get("code")), now)
	fresh := false
	if match {
		if fresh, err = h.steps.Use(ctx, user.ID, step); err != nil {
			h.internal(w, r, "totp: steps", err)
			return
		}
	}
	if !fresh {
		detail := "wrong code"
		if match {
			detail = "code already used"
		}
		h.events.AddEvent(ctx, user.ID, EventSecondFactorFailed, detail+", from "+maskIP(ip))
		if h.limiter.fail(key, ip, now) {
			h.events.AddEvent(ctx, user.ID, EventLocked, "from "+maskIP(ip))
			h.backToLogin(w, r, s, &msgTOTPLocked)
			return
		}
		h.renderTOTP(w, s, http.StatusUnauthorized, codeSecondFactorFailed, &msgTOTPFailed)
		return
	}
	h.limiter.succeed(key)
	id, err := h.sessions.rotate(s.key, now, func(x *session) {
		x.stage, x.acr, x.authAt = stageDone, oauth.ACRTwoFactor, now
	})
	if err != nil {
		h.rotateFailed(w, r, err)
		return
	}
	setCookie(w, id)
	h.events.AddEvent(ctx, user.ID, EventLogin, "password and one-time code, from "+maskIP(ip))
	to := pathConsent
	if s.pending == nil {
		to = pathAccount
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// backToLogin ends a half-signed-in session and starts over at the sign-in
// page, keeping a waiting authorization request.
func (h *Handler) backToLogin(w http.ResponseWriter, r *http.Request, s *session, notice *msg) {
	h.sessions.delete(s.key)
	h.startSession(w, r, session{pending: s.pending, notice: notice})
}

// at loads the session of a sign-in step (and, for a form post, checks its
// CSRF token); a session at another step is sent there. On refusal the
// response is written.
func (h *Handler) at(w http.ResponseWriter, r *http.Request, want stage, post bool) (*session, bool) {
	load := h.load
	if post {
		load = h.post
	}
	s, ok := load(w, r, false)
	if !ok {
		return nil, false
	}
	if s.stage != want {
		http.Redirect(w, r, next(s), http.StatusSeeOther)
		return nil, false
	}
	return s, true
}
