package wechatpay

import "time"

// Notification is the JSON body WeChat Pay POSTs to a merchant's notify_url, signed like a
// response (SignResponse on the request's headers).
type Notification struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"` // RFC 3339 in +08:00, e.g. "2015-05-20T13:29:35+08:00"
	EventType    string   `json:"event_type"`  // e.g. "TRANSACTION.SUCCESS", "REFUND.SUCCESS"
	ResourceType string   `json:"resource_type"`
	Resource     Resource `json:"resource"`
	Summary      string   `json:"summary"` // e.g. "支付成功", "退款成功"
}

// ResourceTypeEncrypted is the resource_type of notifications with an encrypted resource.
const ResourceTypeEncrypted = "encrypt-resource"

// NewNotification builds a notification whose resource is plaintext (the JSON of a transaction,
// refund, …) sealed with the APIv3 key; create_time is written in +08:00 as WeChat Pay sends it.
func NewNotification(id string, createTime time.Time, eventType, summary, apiV3Key, originalType, associatedData, nonce string, plaintext []byte) (*Notification, error) {
	res, err := EncryptResource(apiV3Key, originalType, associatedData, nonce, plaintext)
	if err != nil {
		return nil, err
	}
	return &Notification{
		ID:           id,
		CreateTime:   createTime.In(ChinaStandardTime).Format(time.RFC3339),
		EventType:    eventType,
		ResourceType: ResourceTypeEncrypted,
		Resource:     res,
		Summary:      summary,
	}, nil
}

// Body is the notification's JSON, the bytes to sign and send.
func (n *Notification) Body() ([]byte, error) { return JSON(n) }
