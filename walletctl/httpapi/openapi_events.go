package httpapi

import (
	"reflect"

	"github.com/walletctl/walletctl/walletctl"
)

// eventsDoc describes GET /v1/events, whose answer OpenAPI 3.0 cannot type: a text/event-stream
// whose events' data are the schemas named here.
const eventsDoc = "The tenant's events as server-sent events (text/event-stream), pushed as they happen: " +
	"`id:` (a number increasing with every event of the tenant), `event:` (the type) and `data:` (one line of JSON) per event, " +
	"a comment line while nothing happens (every 15 s by default). Types: notification.attempt (AttemptEvent: every delivery attempt of a " +
	"merchant notification, as walletctl listen prints it), payment.succeeded (PaymentEvent), refund.succeeded, " +
	"refund.abnormal and refund.closed (RefundEvent), and gap (GapEvent, no id). Without Last-Event-ID the stream starts now; " +
	"with it, the events after that id come first, from the last 1,000 the server keeps per tenant (a gap event says when " +
	"some are no longer kept, or the id is from before a restart). A client that falls far behind is disconnected and " +
	"resumes with Last-Event-ID. The events are the server's own: a tenant served by several servers has on each the " +
	"notification tries that server made. No tenant lock is taken and the stream counts in no request queue."

// addEvents documents GET /v1/events and the payload schemas of its events.
func addEvents(add func(method, path string, op obj), errResp func(desc string) obj, ref func(reflect.Type) obj) {
	for _, v := range []any{walletctl.AttemptEvent{}, walletctl.PaymentEvent{}, walletctl.RefundEvent{}, walletctl.GapEvent{}} {
		ref(reflect.TypeOf(v))
	}
	busy := errResp("SERVER_BUSY: the tenant has too many streams open, or the server is stopping; retry after Retry-After")
	busy["headers"] = obj{"Retry-After": obj{"description": "seconds to wait before reconnecting", "schema": obj{"type": "integer"}}}
	add("GET", EventsPath, obj{"operationId": "Events", "summary": "The tenant's events, pushed (server-sent events)", "tags": []string{"events"},
		"security":    []obj{{"apiKey": []string{}}},
		"description": eventsDoc,
		"parameters": []obj{{"name": "Last-Event-ID", "in": "header", "required": false, "schema": obj{"type": "string"},
			"description": "resume after this event id (what the last event's id: line said)"}},
		"responses": obj{
			"default": errResp("an error"),
			"401":     withHeaders(errResp("no valid API key"), wwwAuth),
			"503":     busy,
			"200": obj{"description": "the stream: open until the client goes or the server stops", "content": obj{"text/event-stream": obj{
				"schema": obj{"type": "string", "format": "binary",
					"description": "id:/event:/data: lines; data is the JSON of AttemptEvent, PaymentEvent, RefundEvent or GapEvent"}}}},
		}})
}
