package ldap

import "time"

// Config is the `ldap:` block of a provider. Keys left empty take a default
// that depends on active_directory (see withDefaults), so one flag is enough
// for a typical Active Directory and the OpenLDAP defaults fit inetOrgPerson.
type Config struct {
	// URLs are the directory servers, tried in order: ldap://host[:389] or
	// ldaps://host[:636]. A server that fails is skipped for server_backoff.
	// Required.
	URLs []string `yaml:"urls"`
	// StartTLS upgrades ldap:// connections to TLS with the LDAP extended
	// operation of that name, before anything else is sent. Not allowed
	// with ldaps:// URLs.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM bundle of the CAs that sign the servers' certificates
	// (a private CA). Empty means the system's trust store.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns certificate verification off. Anyone on the
	// network path can then read every password: only for a lab, and logged
	// loudly at start-up.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	// BindDN is the service account that searches for users (and their
	// groups). AD accepts a DN, a UPN or DOMAIN\name. Required unless
	// anonymous_search.
	BindDN string `yaml:"bind_dn"`
	// BindPassword is the service account's password.
	BindPassword string `yaml:"bind_password" secret:"true"`
	// AnonymousSearch searches without binding first, for directories that
	// allow anonymous reads. Mutually exclusive with bind_dn.
	AnonymousSearch bool `yaml:"anonymous_search"`

	// ActiveDirectory switches the defaults to Active Directory's schema and
	// resolves nested groups with AD's in-chain matching rule.
	ActiveDirectory bool `yaml:"active_directory"`

	// UserBase is where users are searched (subtree). Required.
	UserBase string `yaml:"user_base"`
	// UserFilter finds the user; {username} is replaced by the escaped,
	// normalised input. Exactly one entry must match. Empty:
	// (&(objectClass=inetOrgPerson)(uid={username})), or with
	// active_directory a filter matching sAMAccountName or
	// userPrincipalName of enabled user accounts.
	UserFilter string `yaml:"user_filter"`
	// UserIDAttribute gives the Qlik UserId (never the typed name). Empty:
	// uid, or sAMAccountName with active_directory.
	UserIDAttribute string `yaml:"user_id_attribute"`
	// UserIDCase normalises the UserId: preserve, lower or upper.
	UserIDCase string `yaml:"user_id_case"`
	// NameAttribute fills the user's display name. Empty: cn, or
	// displayName with active_directory.
	NameAttribute string `yaml:"name_attribute"`
	// EmailAttribute fills the user's e-mail address. Empty: mail.
	EmailAttribute string `yaml:"email_attribute"`
	// Attributes copies more LDAP attributes to Qlik attributes:
	// LDAP attribute name → Qlik attribute name, e.g. {department: Department}.
	Attributes map[string]string `yaml:"attributes"`
	// Username normalises what the user typed before it goes into the filter.
	Username UsernameConfig `yaml:"username"`

	// GroupBase enables the group search (subtree). With active_directory it
	// defaults to user_base.
	GroupBase string `yaml:"group_base"`
	// GroupFilter finds the user's groups: {dn} is the user's DN and
	// {username} the value of user_id_attribute, both escaped. Empty:
	// groupOfNames or groupOfUniqueNames with the user as member, or with
	// active_directory groups with the user as member (in chain when
	// nested_groups).
	GroupFilter string `yaml:"group_filter"`
	// GroupNameAttribute is the group's name as given to Qlik. Empty: cn.
	GroupNameAttribute string `yaml:"group_name_attribute"`
	// MemberOfAttribute, when set (usually memberOf), also takes groups from
	// this attribute of the user's entry.
	MemberOfAttribute string `yaml:"member_of_attribute"`
	// NestedGroups adds the groups of the user's groups, transitively. The
	// default is true with active_directory and false otherwise.
	NestedGroups *bool `yaml:"nested_groups"`

	// Timeout bounds a whole login (search, bind and groups).
	Timeout time.Duration `yaml:"timeout"`
	// DialTimeout bounds connecting to one server (TCP, TLS and the service
	// bind), so a dead server costs at most this much before the next one.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ServerBackoff is how long a server that failed is skipped.
	ServerBackoff time.Duration `yaml:"server_backoff"`
	// PoolSize is how many service-account connections (and as many
	// connections for user binds) are kept open and reused; it also caps
	// concurrent logins per provider. 0 opens and closes connections per login.
	PoolSize int `yaml:"pool_size"`
	// PoolIdleTimeout closes pooled connections unused for this long, before
	// a server or firewall drops them (AD's MaxConnIdleTime is 15 minutes).
	PoolIdleTimeout time.Duration `yaml:"pool_idle_timeout"`

	// PasswordChangeURL is shown to users whose password has expired or must
	// be changed (AD codes 532, 773; OpenLDAP ppolicy), e.g. a self-service
	// password portal.
	PasswordChangeURL string `yaml:"password_change_url"`
	// PasswordChange lets users whose password has expired or must be
	// changed (AD codes 532, 773; OpenLDAP ppolicy's expired and reset
	// passwords) change it on qlikgate's own page and go on into Qlik. It
	// needs TLS to every server.
	PasswordChange PasswordChangeConfig `yaml:"password_change"`

	// Kerberos also signs domain users in without a form, with the
	// Kerberos ticket their browser sends (SPNEGO, "Windows sign-in"); the
	// directory still gives their id, name, e-mail and groups, and the
	// password form stays as the fallback. See docs/providers/kerberos.md.
	Kerberos *KerberosConfig `yaml:"kerberos"`
}

// KerberosConfig is the `kerberos:` block of an ldap provider.
type KerberosConfig struct {
	// KeytabFile holds the keys of service_principal (ktpass or
	// samba-tool domain exportkeytab). It is a secret: readable by
	// qlikgate's account only (looser permissions are warned about).
	// Relative to the configuration file. Required.
	KeytabFile string `yaml:"keytab_file"`
	// ServicePrincipal is the SPN browsers ask a ticket for:
	// HTTP/<the host name users type>, e.g. HTTP/qlik-login.corp.local.
	// Tickets for any other principal are refused. Required.
	ServicePrincipal string `yaml:"service_principal"`
	// Realms are the client realms accepted (without regard to case), e.g.
	// [CORP.LOCAL]. Empty: the realm of service_principal's keys in the
	// keytab.
	Realms []string `yaml:"realms"`
	// MaxClockSkew is how far a client's clock may be from this
	// server's. Empty: 5m, as in Active Directory.
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
}

// PasswordChangeConfig is the `password_change:` block of an ldap provider.
type PasswordChangeConfig struct {
	// Enabled offers the change page instead of the password_change_url
	// message. Every URL must be ldaps://, or start_tls must be on: the
	// new password must not cross the network in clear text. On Active
	// Directory the change is made by the service account (bind_dn), which
	// needs the "Change Password" right on the users (granted to Everyone
	// by default), and always with the user's current password: it can
	// never reset one. On OpenLDAP the user changes it as themselves
	// (Password Modify), which needs pwdAllowUserChange and write access
	// to their own userPassword; an expired password needs grace logins
	// (pwdGraceAuthNLimit of 2 or more).
	Enabled bool `yaml:"enabled"`
}

// UsernameConfig is how the typed username is normalised before the search.
// It only affects finding the entry: the Qlik UserId always comes from the
// entry, so "alice", "ALICE" and "CORP\alice" are one Qlik user.
type UsernameConfig struct {
	// StripDomain removes a "DOMAIN\" prefix, as Windows users type it.
	StripDomain bool `yaml:"strip_domain"`
	// StripRealm removes an "@realm" suffix. Leave it off for AD's default
	// filter, which also matches userPrincipalName.
	StripRealm bool `yaml:"strip_realm"`
	// Domains are the "DOMAIN\" prefixes strip_domain accepts (compared
	// without regard to case). Any other prefix is refused like a wrong
	// password, without asking the directory: "X\erin" is not erin. Default:
	// the provider's directory and the first DC= label of user_base
	// (DC=corp,DC=example gives CORP).
	Domains []string `yaml:"domains"`
	// Realms are the "@realm" suffixes strip_realm accepts (without regard
	// to case); any other realm is refused like a wrong password. Default:
	// the DC= labels of user_base joined with dots (corp.example).
	Realms []string `yaml:"realms"`
	// Case folds the typed name before the search: preserve, lower or
	// upper.
	Case string `yaml:"case"`
}

// Case options of user_id_case and username.case.
const (
	casePreserve = "preserve"
	caseLower    = "lower"
	caseUpper    = "upper"
)

// NewConfig returns a configuration with the defaults that do not depend on
// the kind of directory.
func NewConfig() *Config {
	return &Config{
		UserIDCase:      casePreserve,
		Username:        UsernameConfig{StripDomain: true, Case: casePreserve},
		Timeout:         5 * time.Second,
		DialTimeout:     2 * time.Second,
		ServerBackoff:   30 * time.Second,
		PoolSize:        8,
		PoolIdleTimeout: 5 * time.Minute,
	}
}

// defaultMaxClockSkew is Kerberos' (and Active Directory's) usual five minutes.
const defaultMaxClockSkew = 5 * time.Minute

// Defaults for Active Directory. The user filter refuses disabled accounts
// (userAccountControl bit 2) before any bind. It deliberately keeps accounts
// whose password expired or must change: their bind returns AD codes 532/773,
// which let the user be told to change the password instead of "wrong password".
const (
	adUserFilter     = "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2))(|(sAMAccountName={username})(userPrincipalName={username})))"
	adGroupFilter    = "(&(objectClass=group)(member={dn}))"
	adNestedFilter   = "(&(objectClass=group)(member:" + adInChainRule + ":={dn}))"
	adInChainRule    = "1.2.840.113556.1.4.1941"
	ldapUserFilter   = "(&(objectClass=inetOrgPerson)(uid={username}))"
	ldapGroupsFilter = "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))"
)

// withDefaults fills the keys left empty with the defaults of the directory
// kind. It is applied once, before validation and at Open.
func (c Config) withDefaults() Config {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if c.NestedGroups == nil {
		nested := c.ActiveDirectory
		c.NestedGroups = &nested
	}
	if c.ActiveDirectory {
		set(&c.UserFilter, adUserFilter)
		set(&c.UserIDAttribute, "sAMAccountName")
		set(&c.NameAttribute, "displayName")
		set(&c.GroupBase, c.UserBase)
		if *c.NestedGroups {
			set(&c.GroupFilter, adNestedFilter)
		} else {
			set(&c.GroupFilter, adGroupFilter)
		}
	} else {
		set(&c.UserFilter, ldapUserFilter)
		set(&c.UserIDAttribute, "uid")
		set(&c.NameAttribute, "cn")
		set(&c.GroupFilter, ldapGroupsFilter)
	}
	set(&c.EmailAttribute, "mail")
	set(&c.GroupNameAttribute, "cn")
	set(&c.UserIDCase, casePreserve)
	set(&c.Username.Case, casePreserve)
	return c
}

// groupSearch reports whether groups are searched (group_base is set).
func (c *Config) groupSearch() bool { return c.GroupBase != "" && c.GroupFilter != "" }

// nested reports whether nested groups are wanted (after withDefaults).
func (c *Config) nested() bool { return c.NestedGroups != nil && *c.NestedGroups }
