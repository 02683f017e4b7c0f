package ldap

import (
	"errors"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/qlikgate/qlikgate/providers"
)

func TestKerberosValidate(t *testing.T) {
	tests := []struct {
		name string
		k    KerberosConfig
		want []string
	}{
		{"valid", KerberosConfig{KeytabFile: "k", ServicePrincipal: "HTTP/qlik.corp.local", Realms: []string{"CORP.LOCAL"}}, nil},
		{"with realm", KerberosConfig{KeytabFile: "k", ServicePrincipal: "HTTP/qlik.corp.local@CORP.LOCAL"}, nil},
		{"empty", KerberosConfig{}, []string{"keytab_file: required", "service_principal: \"\" is not a service principal"}},
		{"bad values", KerberosConfig{KeytabFile: "k", ServicePrincipal: "HTTP/a/b", Realms: []string{"corp local"}, MaxClockSkew: -1},
			[]string{"service_principal: \"HTTP/a/b\"", "realms[0]: \"corp local\" is not a realm", "max_clock_skew: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.k.validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("validate = %v", err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("validate = %v, want %q", err, w)
				}
			}
		})
	}
	c := Config{Kerberos: &KerberosConfig{}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "kerberos.keytab_file: required") {
		t.Fatalf("Config.Validate = %v, want the key path kerberos.keytab_file", err)
	}
}

// TestVerifyFailure maps gokrb5's refusals, as it returns them, to reasons.
func TestVerifyFailure(t *testing.T) {
	sname := types.NewPrincipalName(2, "HTTP/qlikgate.test")
	kerr := func(code int32) error { return messages.NewKRBError(sname, "R", code, "x") }
	tests := []struct {
		err  error
		want providers.Reason
	}{
		{kerr(errorcode.KRB_AP_ERR_TKT_EXPIRED), providers.ReasonTicketExpired},
		{kerr(errorcode.KRB_AP_ERR_TKT_NYV), providers.ReasonTicketExpired},
		{kerr(errorcode.KRB_AP_ERR_SKEW), providers.ReasonClockSkew},
		{kerr(errorcode.KRB_AP_ERR_REPEAT), providers.ReasonReplay},
		{kerr(errorcode.KRB_AP_ERR_BAD_INTEGRITY), providers.ReasonTicketInvalid},
		{krberror.Errorf(errors.New("matching key not found in keytab"), krberror.DecryptingError, "error decrypting"), providers.ReasonTicketInvalid},
		{nil, providers.ReasonTicketInvalid},
	}
	for _, tt := range tests {
		var f *providers.Failure
		err := verifyFailure(tt.err)
		if !errors.As(err, &f) || f.Reason != tt.want || !errors.Is(err, providers.ErrBadCredentials) {
			t.Errorf("verifyFailure(%v) = %v, want reason %s", tt.err, err, tt.want)
		}
	}
}
