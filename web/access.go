package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// The rules the access_denied event names; operators' alerts match on them.
const (
	ruleDeniedGroup        = "denied_group=" // followed by the group as configured
	ruleNotInAllowedGroups = "not_in_allowed_groups"
	ruleProviderNotAllowed = "provider_not_allowed"
)

// The texts of the denial page (locales/*.yaml).
const (
	msgAccessDenied     = "message.access_denied"
	headingAccessDenied = "denied.heading"
)

// accessRule is the rule of a that keeps out a user of provider with
// groups, or "" when the user may enter. A denied group wins over every
// other rule; then a provider not listed; then membership of no allowed
// group. The order only decides which rule the log names: a user who
// fails any rule stays out.
func accessRule(a qlik.Access, provider string, groups []string) string {
	for _, d := range a.DeniedGroups {
		if memberOf(groups, d) {
			return ruleDeniedGroup + d
		}
	}
	if len(a.AllowedProviders) > 0 && !slices.Contains(a.AllowedProviders, provider) {
		return ruleProviderNotAllowed
	}
	if len(a.AllowedGroups) > 0 && !slices.ContainsFunc(a.AllowedGroups, func(g string) bool { return memberOf(groups, g) }) {
		return ruleNotInAllowedGroups
	}
	return ""
}

// memberOf compares group names as Active Directory does, ignoring case.
func memberOf(groups []string, name string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, name) })
}

// refuseEntry answers a hand-off to t that the target's access rules do
// not allow for the signed-in user, and reports whether it did. Nothing
// reaches Qlik then, so no ticket, session or token exists for the user
// and Qlik creates no user (and takes no licence). The qlikgate session
// stays: the user may still enter the targets that allow them.
func (s *Server) refuseEntry(c echo.Context, sess *sessions.Session, st *state, t qlik.Target, e qlik.Entry) (bool, error) {
	id := *st.User
	rule := accessRule(s.access[t.ID()], id.Provider, id.Groups)
	if rule == "" {
		return false, nil
	}
	s.log.WarnContext(c.Request().Context(), "access to the target denied by its access rules", audit.Key, audit.AccessDenied,
		"target", t.ID(), "user", id.UserID, "provider", id.Provider, "rule", rule)
	s.metrics.observeDenied(t.ID(), s.kinds[t.ID()])
	if st.touched {
		s.saveSession(c, sess, st)
	}
	if e.NoAccess != "" {
		// The client allows no page (prompt=none): it gets its error answer.
		c.Response().Header().Set("Cache-Control", "no-store")
		return true, c.Redirect(http.StatusFound, e.NoAccess)
	}
	// The page names the account, so that someone signed in with the
	// wrong one sees why, but no group and no rule: those are the
	// operator's business, and they are in the log under the reference.
	v := view{
		heading: say(headingAccessDenied), msg: msg{id: msgAccessDenied, data: map[string]any{"User": displayName(id)}},
		RequestID: requestID(c), CSRF: st.CSRF, Action: s.base + "logout",
	}
	return true, s.render(c, http.StatusForbidden, "denied", v)
}

// displayName is how the denial page names the account.
func displayName(id providers.Identity) string {
	if id.Name != "" {
		return id.Name
	}
	return id.UserID
}

// checkAccess refuses access rules that the configuration loader should
// have refused already: for a target that does not exist, or naming a
// provider that does not.
func checkAccess(access map[string]qlik.Access, targets map[string]qlik.Target, provs []Provider) error {
	for tid, a := range access {
		if _, ok := targets[tid]; !ok {
			return fmt.Errorf("web: access rules for target %q, which is not among the targets", tid)
		}
		for _, pid := range a.AllowedProviders {
			if !slices.ContainsFunc(provs, func(p Provider) bool { return p.ID == pid }) {
				return fmt.Errorf("web: target %q: allowed_providers names %q, which is not among the providers", tid, pid)
			}
		}
	}
	return nil
}
