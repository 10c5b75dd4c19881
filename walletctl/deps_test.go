package walletctl_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/walletctl/walletctl"

// goList runs `go list` with args and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(gobin, append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Fields(string(out))
}

// The seams of DESIGN.md section 5: the wallet's HTTP server and its engine never link the mock
// bank or the embedded sandbox (which runs one), and the domain speaks no HTTP. Test files may use
// them (they build real worlds); only the packages themselves are checked.
func TestDependencySeams(t *testing.T) {
	forbidden := func(p string) bool {
		return p == module+"/bankmock" || strings.HasPrefix(p, module+"/bankmock/") || p == module+"/walletctl/sandbox"
	}
	for _, pkg := range []string{module + "/walletctl/httpapi", module + "/walletctl/engine"} {
		for _, dep := range goList(t, "-deps", "-f", "{{.ImportPath}}", pkg) {
			if forbidden(dep) {
				t.Errorf("%s depends on %s; it must reach banks through bankapi and tenants through its own interfaces", pkg, dep)
			}
		}
	}
	for _, imp := range goList(t, "-f", `{{join .Imports " "}}`, module+"/walletctl") {
		if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
			t.Errorf("the domain package %s/walletctl imports %s; HTTP belongs to httpapi", module, imp)
		}
	}
}
