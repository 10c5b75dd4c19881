package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// EventsPath is the route of a tenant's event stream (server-sent events).
const EventsPath = "/v1/events"

// EventSource is implemented by Tenants that keep a stream of each tenant's events (tenant.Set):
// the server then serves it on GET /v1/events.
type EventSource interface {
	// Events subscribes to the events of the tenant of apiKey, without taking its lock. With
	// lastEventID "" the stream starts now; else missed first holds the events after that id that
	// are still kept (behind a walletctl.StreamGap event when some are not). live is closed when
	// the subscriber fell too far behind (it should come back with its last id), the tenant was
	// deleted or the tenants closed; stop ends the subscription. An unknown key is the caller's to
	// refuse first (TenantOf); a refusal (too many streams, closing) is a walletctl error.
	Events(apiKey, lastEventID string) (missed []walletctl.StreamEvent, live <-chan walletctl.StreamEvent, stop func(), err error)
}

// streamWriteTimeout bounds each write of an event stream: a client that stops reading is cut off
// (it may resume with Last-Event-ID) instead of holding its handler for ever.
const streamWriteTimeout = 10 * time.Second

// serveEvents serves GET /v1/events: the events of the API key's tenant as server-sent events
// (id:, event:, data: JSON), from now on or after Last-Event-ID, with a comment every
// EventHeartbeat. The key is checked first, as tenantOnly does; the stream takes no tenant lock
// and counts in no queue (it would hold a place for as long as it lasts). It ends when the client
// goes, the subscriber is dropped, the tenant is deleted, or the server closes or shuts down.
func (s *Server) serveEvents(src EventSource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, id := s.tenantKey(w, r)
		if id == "" {
			return
		}
		if p, found := r.Context().Value(tenantKey{}).(*string); found {
			*p = id
		}
		missed, live, stop, err := src.Events(key, r.Header.Get("Last-Event-ID"))
		if err != nil {
			if walletctl.ErrorCode(err) == walletctl.CodeNotFound { // deleted since TenantOf
				unauthenticated(w, "the tenant of this API key was deleted", "")
				return
			}
			if walletctl.ErrorCode(err) == walletctl.CodeServerBusy {
				w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
			}
			writeError(w, err, nil)
			return
		}
		defer stop()
		shutdown := s.shuttingDown(r)
		rc := http.NewResponseController(w)
		// The stream outlives the server's ReadTimeout and WriteTimeout (walletctl serve: 30 s and
		// 60 s), which are for reading a request and writing an answer, not for how long a stream
		// lasts: no read deadline, and a deadline per write instead of one for the whole answer.
		rc.SetReadDeadline(time.Time{})
		defer rc.SetWriteDeadline(time.Time{}) // the connection may serve another request
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // a buffering proxy in front would hold the events back
		w.WriteHeader(http.StatusOK)
		write := func(b []byte) bool {
			rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := w.Write(b); err != nil {
				return false
			}
			return rc.Flush() == nil
		}
		// A first line at once, so that the client (and any proxy between) has the answer's head
		// before the first event: the subscription exists from here on.
		if !write([]byte("retry: 1000\n\n")) {
			return
		}
		for _, ev := range missed {
			if !write(sseFrame(ev)) {
				return
			}
		}
		beat := time.NewTicker(s.opts.EventHeartbeat)
		defer beat.Stop()
		for {
			select {
			case ev, ok := <-live:
				if !ok {
					// Dropped (too far behind) or closed: the client reconnects with its last id.
					write([]byte(": stream ended; reconnect with Last-Event-ID\n\n"))
					return
				}
				if !write(sseFrame(ev)) {
					return
				}
			case <-beat.C:
				if !write([]byte(": heartbeat\n\n")) {
					return
				}
			case <-r.Context().Done():
				return
			case <-shutdown:
				return
			case <-s.closed:
				return
			}
		}
	}
}

// sseFrame is one event as server-sent events frame it. Data is compact JSON: one line.
func sseFrame(ev walletctl.StreamEvent) []byte {
	var b bytes.Buffer
	if ev.ID != 0 {
		b.WriteString("id: ")
		b.WriteString(strconv.FormatUint(ev.ID, 10))
		b.WriteByte('\n')
	}
	b.WriteString("event: ")
	b.WriteString(ev.Type)
	b.WriteString("\ndata: ")
	b.Write(ev.Data)
	b.WriteString("\n\n")
	return b.Bytes()
}

// shuttingDown is closed when the http.Server that serves r shuts down (nil when r came another
// way). http.Server.Shutdown waits for every handler to return and does not end a stream itself;
// it calls what RegisterOnShutdown registered: here, once per server.
func (s *Server) shuttingDown(r *http.Request) <-chan struct{} {
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return nil
	}
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	ch, ok := s.stopping[hs]
	if !ok {
		ch = make(chan struct{})
		s.stopping[hs] = ch
		hs.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}
