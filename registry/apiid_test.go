package registry

import "testing"

func TestParseAPIID(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		level   Level
		wantErr bool
	}{
		{name: "A1 product list", in: "OPC99999010401010000001", wantErr: true}, // 23 chars
		{name: "A1", in: "OPC999990104010100000001", level: A1},
		{name: "A2", in: "OPC999990201010100000003", level: A2},
		{name: "level 03", in: "OPC999990301010100000001", wantErr: true},
		{name: "no OP prefix", in: "XXC999990101010100000001", wantErr: true},
		{name: "lower case", in: "opc999990101010100000001", wantErr: true},
		{name: "type not digits", in: "OPC9999901AB010100000001", wantErr: true},
		{name: "too long", in: "OPC9999901010101000000011", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseAPIID(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseAPIID(%q) accepted", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Level != tt.level || id.String() != tt.in {
				t.Fatalf("got %+v (%s)", id, id)
			}
		})
	}
}
