package httpapi

import (
	"reflect"

	"github.com/walletctl/walletctl/walletctl"
)

// eventsDoc describes GET /v1/events: a text/event-stream, which OpenAPI 3.0 has no keyword for
// (3.2's itemSchema). Its schema models the stream as the OpenAPI media type registry does: as
// if it were a JSON array of its events, each an object of its fields, data the JSON payload.
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
	var payloads []obj
	for _, v := range []any{walletctl.AttemptEvent{}, walletctl.PaymentEvent{}, walletctl.RefundEvent{}, walletctl.GapEvent{}} {
		payloads = append(payloads, ref(reflect.TypeOf(v)))
	}
	event := obj{"type": "object", "description": "one event: the fields of its lines (comment lines are not events)", "properties": obj{
		"id": obj{"type": "string", "description": "a number increasing with every event of the tenant (none on gap, nor on the first retry: line)"},
		"event": obj{"type": "string", "enum": []string{walletctl.StreamAttempt, walletctl.StreamPayment, walletctl.StreamRefundSucceeded,
			walletctl.StreamRefundAbnormal, walletctl.StreamRefundClosed, walletctl.StreamGap}},
		"data": obj{"anyOf": payloads, "description": "the event's JSON, one line: AttemptEvent for notification.attempt, PaymentEvent " +
			"for payment.succeeded, RefundEvent for refund.*, GapEvent for gap"},
		"retry": obj{"type": "integer", "description": "the reconnection delay in milliseconds (the stream's first line)"},
	}}
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
				"schema": obj{"type": "array", "items": event,
					"description": "id:/event:/data: lines, modelled (as the OpenAPI media type registry models text/event-stream) as if the stream were a JSON array of its events"}}}},
		}})
}
