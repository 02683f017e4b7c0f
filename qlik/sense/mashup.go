package sense

import (
	"context"
	"fmt"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// ticketLifetime is how long the QPS accepts a ticket: one minute, fixed
// by Qlik Sense.
const ticketLifetime = time.Minute

var _ qlik.TicketIssuer = (*TicketTarget)(nil)

// IssueTicket asks the first healthy node for a ticket for u, with no
// targetId: a mashup page opens whatever URL it likes with the ticket. A
// ticket is redeemed only on the node that issued it, so behind a load
// balancer without stickiness the mashup's first request with it may land
// on a node that does not know it; the docs say so.
func (t *TicketTarget) IssueTicket(ctx context.Context, u qlik.User) (qlik.Ticket, error) {
	if err := checkUser(u); err != nil {
		return qlik.Ticket{}, err
	}
	req := ticketRequest{UserDirectory: u.Directory, UserId: u.UserID, Attributes: attributes(u, t.cfg.GroupAttribute)}
	var res ticketResponse
	err := t.failover(ctx, func(n *node) (err error) {
		res, err = t.ticket(ctx, n, &req)
		return err
	})
	if err != nil {
		return qlik.Ticket{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
	}
	if res.Ticket == "" {
		return qlik.Ticket{}, fmt.Errorf("sense-ticket %s: the QPS answered without a ticket", t.id)
	}
	return qlik.Ticket{Value: res.Ticket, ExpiresIn: ticketLifetime}, nil
}
