package bankapi

import "time"

// FaultCreate is the body of POST /admin/faults (FaultCreate in openapi.json): a rule's kind,
// matchers and parameters, or Spec in the X-Bankmock-Fault syntax. It has no id, source or
// counters: the bank assigns those, and refuses a body that carries them (unknown fields).
type FaultCreate struct {
	Spec        string        `json:"spec,omitempty"`
	Kind        FaultKind     `json:"kind,omitempty"`
	Partner     string        `json:"partner,omitempty"`
	Op          string        `json:"op,omitempty"`
	Bank        string        `json:"bank,omitempty"`
	CardNo      string        `json:"card_no,omitempty"`
	MinAmount   int64         `json:"min_amount,omitempty"`
	MaxAmount   int64         `json:"max_amount,omitempty"`
	First       int           `json:"first,omitempty"`
	Probability *float64      `json:"probability,omitempty"`
	Delay       time.Duration `json:"delay,omitempty"`
	Status      int           `json:"status,omitempty"`
}

// NewFaultCreate is the create body for f: its kind, matchers and parameters (ID, Source and the
// counters are the bank's and are left out).
func NewFaultCreate(f Fault) FaultCreate {
	return FaultCreate{Kind: f.Kind, Partner: f.Partner, Op: f.Op, Bank: f.Bank, CardNo: f.CardNo,
		MinAmount: f.MinAmount, MaxAmount: f.MaxAmount, First: f.First, Probability: f.Probability,
		Delay: f.Delay, Status: f.Status}
}

// Fault is the rule the body describes (without Spec, which the caller parses).
func (c FaultCreate) Fault() Fault {
	return Fault{Kind: c.Kind, Partner: c.Partner, Op: c.Op, Bank: c.Bank, CardNo: c.CardNo,
		MinAmount: c.MinAmount, MaxAmount: c.MaxAmount, First: c.First, Probability: c.Probability,
		Delay: c.Delay, Status: c.Status}
}
