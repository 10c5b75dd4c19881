package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/atomicfile"
	"github.com/walletctl/walletctl/walletctl"
)

// The merchant's side (DESIGN.md section 8): merchants as parties with v3 credentials, their
// orders, refunds and bills, so that scenarios and developers can script whole flows without
// writing a v3 client. The user's side is scan.go and paycode.go.

// NewCmdMerchantList is `merchant list`; runF (tests) replaces merchantListRun.
func NewCmdMerchantList(f *Factory, runF func(context.Context, *MerchantListOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "list", Short: "List the merchants: the catalogue, then those created"}, runF, false, true,
		func(svc walletctl.Service, ctx context.Context, _ string, p walletctl.Page) (*walletctl.List[walletctl.Merchant], error) {
			return svc.Merchants(ctx, p)
		}, merchantID, (*Output).Merchants)
}

// Merchants lists merchants; APPID only when one of them has an app.
func (o *Output) Merchants(ms []walletctl.Merchant, wide bool) {
	hasApp := false // the catalogue's merchants have no app: no empty column for them alone
	for _, m := range ms {
		hasApp = hasApp || m.AppID != ""
	}
	rows := make([]table.Row, len(ms))
	for i, m := range ms {
		rows[i] = table.Row{m.ID, m.Name, m.Category}
		if hasApp {
			rows[i] = append(rows[i], m.AppID)
		}
	}
	header := []string{"ID", "NAME", "CATEGORY"}
	if hasApp {
		header = append(header, "APPID")
	}
	o.Table(ms, header, rows, wide, "APPID")
}

// MerchantCreateOptions are merchant create's inputs.
type MerchantCreateOptions struct {
	*Factory
	Spec walletctl.MerchantSpec
}

// NewCmdMerchantCreate is `merchant create`.
func NewCmdMerchantCreate(f *Factory, runF func(context.Context, *MerchantCreateOptions) error) *cobra.Command {
	opts := &MerchantCreateOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "create [--name N] [--category C] [--appid A]", Short: "Create a v3 merchant: prints its mchid, appid and cert serial"},
		opts, nil, runF, merchantCreateRun)
	cmd.Flags().StringVar(&opts.Spec.Name, "name", "", "the merchant's name, as payers see it")
	cmd.Flags().StringVar(&opts.Spec.Category, "category", "", "what it sells")
	cmd.Flags().StringVar(&opts.Spec.AppID, "appid", "", `its app id (default: "wx" and 16 hex digits derived from the mchid)`)
	cmd.Flags().BoolVar(&opts.Spec.PublicKeyMode, "public-key-mode", false, "the merchant checks the platform's signatures with its public key (PUB_KEY_ID_…): v3 answers and notifications are signed under that serial")
	return cmd
}

func merchantCreateRun(ctx context.Context, o *MerchantCreateOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.CreateMerchant, o.Spec, o.Out.Merchant)
}

// Merchant shows a merchant just created: who it is and how it checks the platform.
func (o *Output) Merchant(m *walletctl.Merchant) {
	o.merchant(m, m, kv{"VERIFIES BY", verifyMode(m.PublicKeyMode)})
}

// MerchantInfo shows a merchant with what it holds.
func (o *Output) MerchantInfo(m *walletctl.MerchantInfo) {
	o.merchant(m, &m.Merchant, kv{"BALANCE", yuan(m.Balance) + " CNY"}, kv{"ORDERS", m.Orders},
		kv{"PAID", yuan(m.Paid)}, kv{"REFUNDED", yuan(m.Refunded)})
}

// merchant prints v (JSON) or m's own rows with these between them and CREATED.
func (o *Output) merchant(v any, m *walletctl.Merchant, these ...kv) {
	rows := append([]kv{{"MCHID", m.ID}, {"NAME", m.Name}, {"CATEGORY", m.Category}, {"APPID", m.AppID},
		{"CERT SERIAL", m.CertSerial}}, these...)
	o.Record(v, append(rows, kv{"CREATED", tsp(m.CreatedAt)}))
}

// MerchantShowOptions are merchant show's inputs.
type MerchantShowOptions struct {
	*Factory
	MchID string
}

// NewCmdMerchantShow is `merchant show MCHID`.
func NewCmdMerchantShow(f *Factory, runF func(context.Context, *MerchantShowOptions) error) *cobra.Command {
	opts := &MerchantShowOptions{Factory: f}
	return newIDCmd(&cobra.Command{Use: "show MCHID", Short: "Show a merchant: balance, orders, paid and refunded"}, opts, &opts.MchID,
		f.app.completeMchids, runF, merchantShowRun)
}

func merchantShowRun(ctx context.Context, o *MerchantShowOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.Merchant, o.MchID, o.Out.MerchantInfo)
}

// The files `merchant keys --out DIR` writes, named as WeChat Pay's own downloads and SDK
// examples name them.
const (
	keyFile            = "apiclient_key.pem"
	certFile           = "apiclient_cert.pem"
	platformCertFile   = "platform_cert.pem"
	platformPubKeyFile = "platform_public_key.pem"
	merchantJSONFile   = "merchant.json"
)

// merchantFile is merchant.json: what a merchant's code needs besides the PEM files. It holds
// the APIv3 key, so it is written 0600 like the private key.
type merchantFile struct {
	MchID                   string `json:"mchid"`
	AppID                   string `json:"appid"`
	CertSerial              string `json:"cert_serial"`
	APIv3Key                string `json:"apiv3_key"`
	PlatformSerial          string `json:"platform_serial"`
	PublicKeyID             string `json:"public_key_id"`
	PrivateKeyFile          string `json:"private_key_file"`
	CertificateFile         string `json:"certificate_file"`
	PlatformCertificateFile string `json:"platform_certificate_file"`
	PlatformPublicKeyFile   string `json:"platform_public_key_file"`
}

// keysView is what `merchant keys` prints: where the files went, never what is in them.
type keysView struct {
	MchID string   `json:"mchid"`
	Dir   string   `json:"dir"`
	Files []string `json:"files"`
}

// MerchantKeysOptions are merchant keys' inputs.
type MerchantKeysOptions struct {
	*Factory
	MchID string
	Dir   string // --out
	Force bool
}

// NewCmdMerchantKeys is `merchant keys MCHID --out DIR`.
func NewCmdMerchantKeys(f *Factory, runF func(context.Context, *MerchantKeysOptions) error) *cobra.Command {
	opts := &MerchantKeysOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "keys MCHID --out DIR [--force]", Short: "Write a merchant's keys and certificates to files for its code",
		Long: `Write what a merchant's code needs to call the v3 API of walletctl serve to DIR:
  apiclient_key.pem        the merchant's private key (PKCS#8, mode 0600)
  apiclient_cert.pem       its certificate (serial: cert_serial)
  platform_cert.pem        the platform's certificate, to check answers
  platform_public_key.pem  the platform's public key (public-key mode)
  merchant.json            mchid, appid, cert_serial, apiv3_key,
                           platform_serial, public_key_id and the file
                           names (mode 0600)
Only the paths are printed: secrets never go to standard output. Existing
files are kept unless --force.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(f.app.completeMchids),
	}, opts, func(args []string) error {
		opts.MchID = args[0]
		if opts.Dir == "" {
			return invalidArg(fmt.Sprintf("secrets never go to standard output: walletctl merchant keys %s --out DIR", args[0]),
				"--out DIR is required")
		}
		return nil
	}, runF, merchantKeysRun)
	cmd.Flags().StringVar(&opts.Dir, "out", "", "the folder to write the files to (created 0700 if missing)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite files already there")
	return cmd
}

func merchantKeysRun(ctx context.Context, o *MerchantKeysOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) (*keysView, error) {
		c, err := svc.MerchantCredentials(ctx, o.MchID)
		if err != nil {
			return nil, err
		}
		paths, err := writeMerchantFiles(o.Dir, c, o.Force)
		if err != nil {
			return nil, err
		}
		return &keysView{MchID: c.MchID, Dir: o.Dir, Files: paths}, nil
	}, o.Out.MerchantKeys)
}

// MerchantKeys prints where the files went, one path a line.
func (o *Output) MerchantKeys(v *keysView) {
	if o.JSON() {
		writeJSON(o.IO.Out, v)
		return
	}
	for _, p := range v.Files {
		fmt.Fprintln(o.IO.Out, p)
	}
}

// writeMerchantFiles writes the credentials to dir and returns the paths written. Without force
// it writes nothing if any of the files exists. Each file is written to a temporary file with
// its final mode and renamed into place, so that a key is never readable by others, even for a
// moment, and an overwritten file never ends up half-written.
func writeMerchantFiles(dir string, c *walletctl.MerchantCredentials, force bool) ([]string, error) {
	mj, err := json.MarshalIndent(merchantFile{
		MchID: c.MchID, AppID: c.AppID, CertSerial: c.CertSerial, APIv3Key: c.APIv3Key,
		PlatformSerial: c.PlatformSerial, PublicKeyID: c.PublicKeyID,
		PrivateKeyFile: keyFile, CertificateFile: certFile,
		PlatformCertificateFile: platformCertFile, PlatformPublicKeyFile: platformPubKeyFile,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []struct {
		name    string
		content string
		mode    fs.FileMode
	}{
		{keyFile, c.PrivateKey, 0o600},
		{certFile, c.Cert, 0o644},
		{platformCertFile, c.PlatformCert, 0o644},
		{platformPubKeyFile, c.PlatformPublicKey, 0o644},
		{merchantJSONFile, string(mj) + "\n", 0o600},
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fileError(err, dir)
	}
	if !force {
		for _, f := range files {
			if err := refuseExisting(filepath.Join(dir, f.name), "pick an empty folder, or overwrite the files with --force"); err != nil {
				return nil, err
			}
		}
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := writeFile(p, f.content, f.mode); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// refuseExisting is ALREADY_EXISTS when p exists: files the user asked for are overwritten only
// with --force.
func refuseExisting(p, hint string) error {
	if _, err := os.Lstat(p); err != nil {
		return nil
	}
	return &walletctl.Error{Code: walletctl.CodeAlreadyExists, Message: p + " exists already", Hint: hint,
		Details: map[string]any{"path": p}}
}

// writeFile writes a file the user asked for at once (never half-written) with its final mode.
func writeFile(p, content string, mode fs.FileMode) error {
	if err := atomicfile.Write(p, []byte(content), mode, true); err != nil {
		return fileError(err, p)
	}
	return nil
}

// fileError is a failed write of a file the user asked for, with the path and what to do.
func fileError(err error, path string) error {
	if df := walletctl.DiskFull(err); df != nil {
		return df
	}
	hint := "check that the folder exists and is writable"
	if errors.Is(err, fs.ErrPermission) {
		hint = "pick a folder you can write to"
	}
	return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: err.Error(), Hint: hint,
		Details: map[string]any{"path": path}}
}

// verifyMode says how a merchant checks the platform's signatures.
func verifyMode(publicKey bool) string {
	if publicKey {
		return "platform public key (PUB_KEY_ID)"
	}
	return "platform certificate"
}
