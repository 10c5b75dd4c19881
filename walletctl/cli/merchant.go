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

func (a *app) merchantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "merchant",
		Short: "Merchants: the catalogue, v3 merchants with credentials, orders, refunds, bills",
	}
	var wide bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the merchants: the catalogue and those created",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			ms, err := svc.Merchants(ctx)
			if err != nil {
				return err
			}
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
			a.out.Table(ms, header, rows, wide, "APPID")
			return nil
		},
	}
	list.Flags().BoolVar(&wide, "wide", false, wideUsage)
	cmd.AddCommand(list, a.merchantCreateCmd(), a.merchantShowCmd(), a.merchantKeysCmd(),
		a.orderCmd(), a.codepayCmd(), a.refundCmd(), a.billCmd())
	return cmd
}

func (a *app) merchantCreateCmd() *cobra.Command {
	var spec walletctl.MerchantSpec
	cmd := &cobra.Command{
		Use:   "create [--name N] [--category C] [--appid A]",
		Short: "Create a v3 merchant: prints its mchid, appid and cert serial",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			m, err := svc.CreateMerchant(ctx, spec)
			if err != nil {
				return err
			}
			a.out.Record(m, []kv{
				{"MCHID", m.ID},
				{"NAME", m.Name},
				{"CATEGORY", m.Category},
				{"APPID", m.AppID},
				{"CERT SERIAL", m.CertSerial},
				{"VERIFIES BY", verifyMode(m.PublicKeyMode)},
				{"CREATED", tsp(m.CreatedAt)},
			})
			return nil
		},
	}
	cmd.Flags().StringVar(&spec.Name, "name", "", "the merchant's name, as payers see it")
	cmd.Flags().StringVar(&spec.Category, "category", "", "what it sells")
	cmd.Flags().StringVar(&spec.AppID, "appid", "", `its app id (default: "wx" and 16 hex digits derived from the mchid)`)
	cmd.Flags().BoolVar(&spec.PublicKeyMode, "public-key-mode", false, "the merchant checks the platform's signatures with its public key (PUB_KEY_ID_…): notifications are signed under that serial")
	return cmd
}

func (a *app) merchantShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show MCHID",
		Short:             "Show a merchant: balance, orders, paid and refunded",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeMchidsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			m, err := svc.Merchant(ctx, args[0])
			if err != nil {
				return err
			}
			a.out.Record(m, []kv{
				{"MCHID", m.ID},
				{"NAME", m.Name},
				{"CATEGORY", m.Category},
				{"APPID", m.AppID},
				{"CERT SERIAL", m.CertSerial},
				{"BALANCE", yuan(m.Balance) + " CNY"},
				{"ORDERS", m.Orders},
				{"PAID", yuan(m.Paid)},
				{"REFUNDED", yuan(m.Refunded)},
				{"CREATED", tsp(m.CreatedAt)},
			})
			return nil
		},
	}
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

func (a *app) merchantKeysCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "keys MCHID --out DIR [--force]",
		Short: "Write a merchant's keys and certificates to files for its code",
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
		ValidArgsFunction: a.completeMchidsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if out == "" {
				return invalidArg(fmt.Sprintf("secrets never go to standard output: walletctl merchant keys %s --out DIR", args[0]),
					"--out DIR is required")
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			c, err := svc.MerchantCredentials(ctx, args[0])
			if err != nil {
				return err
			}
			paths, err := writeMerchantFiles(out, c, force)
			if err != nil {
				return err
			}
			v := keysView{MchID: c.MchID, Dir: out, Files: paths}
			if a.out.JSON() {
				writeJSON(a.ios.Out, v)
				return nil
			}
			for _, p := range paths {
				fmt.Fprintln(a.ios.Out, p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the folder to write the files to (created 0700 if missing)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite files already there")
	return cmd
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
			p := filepath.Join(dir, f.name)
			if _, err := os.Lstat(p); err == nil {
				return nil, &walletctl.Error{Code: walletctl.CodeAlreadyExists,
					Message: fmt.Sprintf("%s exists already", p),
					Hint:    "pick an empty folder, or overwrite the files with --force",
					Details: map[string]any{"path": p}}
			}
		}
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := atomicfile.Write(p, []byte(f.content), f.mode, true); err != nil {
			return nil, fileError(err, p)
		}
		paths = append(paths, p)
	}
	return paths, nil
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

// completeMchids offers the v3 merchants (those with an app id), not the catalogue.
func (a *app) completeMchids(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
		ms, err := svc.Merchants(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, m := range ms {
			if m.AppID != "" {
				out = append(out, m.ID+"\t"+m.Name)
			}
		}
		return out
	})
}

func (a *app) completeMchidsArg(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.completeMchids(cmd, args, s)
}

// verifyMode says how a merchant checks the platform's signatures.
func verifyMode(publicKey bool) string {
	if publicKey {
		return "platform public key (PUB_KEY_ID)"
	}
	return "platform certificate"
}
