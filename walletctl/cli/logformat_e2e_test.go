package cli_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServersShareOneLogFormat: walletctl serve and bankmock serve write their request logs in
// one format, chosen by the same --log-format flag: text (key=value lines) by default, json (one
// object a line) on request; anything else is refused before the server starts.
func TestServersShareOneLogFormat(t *testing.T) {
	t.Parallel()
	requestLines := func(p *servedProcess) []string {
		var out []string
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(l, "request") && strings.Contains(l, "/healthz") {
				out = append(out, l)
			}
		}
		return out
	}
	for _, format := range []string{"", "json"} {
		args := []string{}
		if format != "" {
			args = []string{"--log-format", format}
		}
		servers := map[string]*servedProcess{
			"bankmock serve":  startServer(t, bankmockBinary(t), []string{"BANKMOCK_ADMIN_TOKEN=" + e2eBankToken}, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...),
			"walletctl serve": startServe(t, []string{"WALLETCTL_ADMIN_TOKEN=e2e-wallet-admin"}, append([]string{"--data", t.TempDir()}, args...)...),
		}
		for name, p := range servers {
			resp, err := http.Get(p.url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if code := p.stop(t); code != 0 {
				t.Fatalf("%s exited %d", name, code)
			}
			lines := requestLines(p)
			if len(lines) != 1 {
				t.Fatalf("%s --log-format %q: %d request lines for /healthz; stderr:\n%s", name, format, len(lines), p.stderr)
			}
			var m map[string]any
			isJSON := json.Unmarshal([]byte(lines[0]), &m) == nil && m["msg"] == "request"
			isText := strings.Contains(lines[0], "level=INFO msg=request ")
			if (format == "json") != isJSON || (format == "") != isText {
				t.Errorf("%s --log-format %q: %q", name, format, lines[0])
			}
		}
	}
	for _, bin := range []string{bankmockBinary(t), binary(t)} {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--log-format", "xml", "--data", t.TempDir())
		cmd.Env = append(os.Environ(), "BANKMOCK_ADMIN_TOKEN="+e2eBankToken, "WALLETCTL_ADMIN_TOKEN=e2e-wallet-admin")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "text or json") {
			t.Errorf("%s serve --log-format xml: exit %d\n%s", filepath.Base(bin), cmd.ProcessState.ExitCode(), out)
		}
	}
}
