package pii

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// NewSlogHandler returns a handler that masks personal data in every record before next sees
// it (T/PCAC 0008-2020 9.2.1: no unmasked personal data in logs). MaskText goes over the
// message and over every attribute, those given to WithAttrs and those inside groups included:
// keys, strings, integers (a card number logged as an int64), errors, fmt.Stringers, and other
// values as their JSON, text or %+v form, which replaces the value when it held personal data.
// LogValuers are resolved first.
func NewSlogHandler(next slog.Handler) slog.Handler {
	return &slogHandler{next: next}
}

// slogHandler is the handler NewSlogHandler returns.
type slogHandler struct {
	next slog.Handler
}

// Enabled reports whether next handles records of level.
func (h *slogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle masks r and passes it to next.
func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	m := slog.NewRecord(r.Time, r.Level, MaskText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		m.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, m)
}

// WithAttrs masks attrs and passes them to next.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return &slogHandler{next: h.next.WithAttrs(masked)}
}

// WithGroup passes the masked group name to next.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	return &slogHandler{next: h.next.WithGroup(MaskText(name))}
}

// maskAttr returns a with its key and value masked.
func maskAttr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: MaskText(a.Key), Value: maskValue(a.Value.Resolve())}
}

// maskValue returns v masked; v is resolved.
func maskValue(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(MaskText(v.String()))
	case slog.KindInt64:
		return maskNumber(v, strconv.FormatInt(v.Int64(), 10))
	case slog.KindUint64:
		return maskNumber(v, strconv.FormatUint(v.Uint64(), 10))
	case slog.KindGroup:
		attrs := v.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			masked[i] = maskAttr(a)
		}
		return slog.GroupValue(masked...)
	case slog.KindAny:
		return maskAny(v)
	}
	return v // bools, floats, durations and times carry no personal data
}

// maskNumber returns v, or the masked s as a string when the number is personal data.
func maskNumber(v slog.Value, s string) slog.Value {
	if m := MaskText(s); m != s {
		return slog.StringValue(m)
	}
	return v
}

// maskAny masks a value of kind Any: an error or a Stringer becomes its masked text; anything
// else is kept unless its JSON or text form holds personal data, and then becomes that form
// masked.
func maskAny(v slog.Value) slog.Value {
	var s string
	switch x := v.Any().(type) {
	case nil:
		return v
	case error:
		return slog.StringValue(MaskText(x.Error()))
	case fmt.Stringer:
		return slog.StringValue(MaskText(x.String()))
	case json.Marshaler:
		b, err := x.MarshalJSON()
		if err != nil {
			return slog.StringValue("!MARSHAL-ERROR")
		}
		s = string(b)
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return slog.StringValue("!MARSHAL-ERROR")
		}
		s = string(b)
	case []byte:
		s = string(x)
	default:
		// A JSON handler marshals the value, a text handler formats it: check both forms (%+v
		// does not follow pointers, json.Marshal does).
		if j, err := json.Marshal(x); err == nil {
			if m := MaskText(string(j)); m != string(j) {
				return slog.StringValue(m)
			}
		}
		s = fmt.Sprintf("%+v", x)
	}
	if m := MaskText(s); m != s {
		return slog.StringValue(m)
	}
	return v
}

var _ slog.Handler = (*slogHandler)(nil)
