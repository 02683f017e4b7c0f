package qlikview

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// webTicketRequest is the body of GetWebTicket.aspx (contract §2.1). It is
// always built with encoding/xml: a group named "</string><string>Admins"
// must arrive as one group with that literal name, not as markup.
type webTicketRequest struct {
	XMLName xml.Name   `xml:"Global"`
	Method  string     `xml:"method,attr"`
	UserID  string     `xml:"UserId"`
	Groups  *groupList `xml:"GroupList,omitempty"`
	// GroupsIsNames is Qlik's spelling of the element; the documentation's
	// prose calls it GroupIsNames, which the server does not read.
	GroupsIsNames *bool `xml:"GroupsIsNames,omitempty"`
}

type groupList struct {
	Names []string `xml:"string"`
}

// encodeWebTicketRequest renders the request. Without groups both
// GroupList and GroupsIsNames are left out, so that the web server looks
// the user's groups up itself, as documented.
func encodeWebTicketRequest(userID string, groups []string, groupsAreNames bool) ([]byte, error) {
	if err := checkXMLText("user id", userID); err != nil {
		return nil, err
	}
	req := webTicketRequest{Method: "GetWebTicket", UserID: userID}
	if len(groups) > 0 {
		for _, g := range groups {
			if err := checkXMLText("group", g); err != nil {
				return nil, err
			}
		}
		req.Groups = &groupList{Names: groups}
		req.GroupsIsNames = &groupsAreNames
	}
	b, err := xml.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode GetWebTicket request: %w", err)
	}
	return b, nil
}

// checkXMLText refuses characters XML 1.0 cannot carry. encoding/xml would
// replace them with U+FFFD, quietly turning the name into another one.
func checkXMLText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		ok := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if !ok {
			return fmt.Errorf("%s %q holds a character XML cannot carry (U+%04X)", what, s, r)
		}
	}
	return nil
}

// ErrInvalidCall is GetWebTicket's refusal. It almost always means the web
// server does not trust the module: its address is not a TrustedIP in
// config.xml, or (with ntlm) the account is not in QlikView Administrators.
var ErrInvalidCall = errors.New(`GetWebTicket answered "Invalid call": QlikView does not trust this caller ` +
	`(add the module's IP address as <TrustedIP> under <GetWebTicket> in config.xml, or use ntlm ` +
	`with a member of QlikView Administrators); a malformed request is the other cause`)

// webTicketResponse is <Global><_retval_>TICKET</_retval_></Global>.
type webTicketResponse struct {
	XMLName xml.Name `xml:"Global"`
	Retval  *string  `xml:"_retval_"`
}

// parseWebTicketResponse extracts the ticket. Errors never quote the body:
// it may hold a ticket.
func parseWebTicketResponse(body []byte) (string, error) {
	// Clients in the field substring-match this; where the server puts it
	// (inside _retval_ or elsewhere) is undocumented.
	if bytes.Contains(body, []byte("Invalid call")) {
		return "", ErrInvalidCall
	}
	var res webTicketResponse
	if err := xml.Unmarshal(body, &res); err != nil {
		return "", fmt.Errorf("the answer is not <Global><_retval_>…</_retval_></Global> (%d bytes)", len(body))
	}
	if res.Retval == nil {
		return "", errors.New("the answer has no <_retval_>")
	}
	tk := strings.TrimSpace(*res.Retval)
	switch {
	case tk == "":
		return "", errors.New("the answer's <_retval_> is empty: no ticket")
	case strings.ContainsFunc(tk, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", errors.New("the answer's <_retval_> holds spaces or control characters, not a ticket")
	}
	return tk, nil
}
