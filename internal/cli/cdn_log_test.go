package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The samples in testdata/cdn are built from the field list of AWS's CloudFront
// standard-logging reference: a gzipped legacy W3C file with all 33 fields, the same rows as
// standard logging v2 JSON records, and a reordered, trimmed W3C layout.
const (
	cdnW3C      = "E2EXAMPLE1D8N.2026-11-25-13.4f2a9c1d.gz"
	cdnJSON     = "cloudfront-v2.jsonl"
	cdnReorder  = "reordered.log"
	edgeIDMissB = "335w5QIVRPSDS77mSp43if68S-gUcN9inK1t2wMyClyibgapLi6rWA=="
)

func readCDN(t *testing.T, name string) ([]EdgeRow, *CDNLog) {
	t.Helper()
	log := &CDNLog{}
	var rows []EdgeRow
	if err := log.ReadCDNFile(filepath.Join("testdata", "cdn", name), func(r EdgeRow) { rows = append(rows, r) }); err != nil {
		t.Fatal(err)
	}
	return rows, log
}

func TestReadCDNSamples(t *testing.T) {
	for _, tc := range []struct {
		file    string
		rows    int
		skipped string // the skip report, "" for none
		row     int    // the row checked against want
		want    string
	}{
		{cdnW3C, 8, "1 line 7: 14 tab-separated fields, #Fields names 33", 1,
			"2026-11-25T13:35:31Z FRA56-P7 " + edgeIDMissB + " GET /bytes 200 Miss/Miss/Miss 383 len=0"},
		{cdnW3C, 8, "1 line 7: 14 tab-separated fields, #Fields names 33", 2,
			"2026-11-25T13:35:31Z FRA56-P7 ayPA1fNdGxH5toPwsKYXNV3rESd9ka4JHTmcZVuHlA1vZ9iZOZ7U_A== GET /bytes 304 Miss/Miss/Miss 251 len=-"},
		{cdnJSON, 4, "1 line 3: record lacks x-edge-request-id", 2,
			"2026-11-25T13:35:38Z FRA56-P7 ct_PsMRwrCVc3oP7j-ON6KEoGI4D6lulsqk62-oQYvpgC2wPmD-p1g== POST /api/orders 502 Error/Error/OriginConnectError 1180 len=951"},
		{cdnReorder, 3, "", 1,
			"2026-11-25T13:35:31Z  " + edgeIDMissB + " GET /bytes 200 Miss// 383 len=-"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rows, log := readCDN(t, tc.file)
			if len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d", len(rows), tc.rows)
			}
			skipped := ""
			for _, s := range log.Skipped {
				skipped = strings.TrimSpace(skipped + " " + itoa(int64(s.Lines)) + " " + s.First)
			}
			if skipped != tc.skipped {
				t.Errorf("skipped %q, want %q", skipped, tc.skipped)
			}
			r := rows[tc.row]
			clen := "-"
			if r.ContentLen != nil {
				clen = itoa(*r.ContentLen)
			}
			got := strings.Join([]string{r.Time.Format(time.RFC3339), r.Location, r.RequestID, r.Method, r.Path, itoa(int64(r.Status)),
				r.ResultType + "/" + r.Response + "/" + r.Detailed, itoa(r.BytesSent), "len=" + clen}, " ")
			if got != tc.want {
				t.Errorf("row %d\n got %s\nwant %s", tc.row, got, tc.want)
			}
		})
	}
}

func TestReadCDNFailures(t *testing.T) {
	const (
		fields = "#Fields: date time x-edge-location sc-bytes cs-method cs-uri-stem sc-status x-edge-result-type x-edge-request-id\n"
		good   = "2026-11-25\t13:35:31\tFRA56-P7\t383\tGET\t/a%20b\t200\tHit\tabc==\n"
	)
	for _, tc := range []struct {
		name, log string
		err       string // the error, or "" for none
		skipped   string
	}{
		{"no header", "2026-11-25\t13:35:31\tFRA56-P7\t383\tGET\t/bytes\t200\tHit\tabc==\n",
			"unknown log layout: line 1 is neither JSON nor under a #Fields header", ""},
		{"header lacks the id", "#Version: 1.0\n#Fields: date time sc-bytes cs-uri-stem sc-status x-edge-result-type\n",
			"unknown log layout: line 2: #Fields lacks x-edge-request-id", ""},
		{"bad status", fields + "2026-11-25\t13:35:31\tFRA56-P7\t383\tGET\t/bytes\tOK\tHit\tabc==\n" + good, "", "line 2: sc-status \"OK\" is not a number"},
		{"bad date", fields + "25/11/2026\t13:35:31\tFRA56-P7\t383\tGET\t/bytes\t200\tHit\tabc==\n" + good, "", "line 2: date/time \"25/11/2026\" \"13:35:31\": want YYYY-MM-DD and HH:MM:SS"},
		{"empty id", fields + "2026-11-25\t13:35:31\tFRA56-P7\t383\tGET\t/bytes\t200\tHit\t-\n" + good, "", "line 2: empty x-edge-request-id"},
		{"not JSON", fields + "{\"date\":\n" + good, "", "line 2: not a JSON object: unexpected end of JSON input"},
		{"only bad lines", fields + "2026-11-25\t13:35:31\n", "unknown log layout: none of its 1 lines is a CloudFront record (line 2: 2 tab-separated fields, #Fields names 9)", ""},
		{"encoded path", fields + good, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &CDNLog{}
			var rows []EdgeRow
			err := log.Read(strings.NewReader(tc.log), "sample.log", func(r EdgeRow) { rows = append(rows, r) })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), "read CDN log sample.log: "+tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(log.Skipped) > 0 {
				got = log.Skipped[0].First
			}
			if got != tc.skipped {
				t.Errorf("skipped %q, want %q", got, tc.skipped)
			}
			if len(rows) != 1 || rows[0].Path != "/a b" {
				t.Errorf("rows %+v", rows)
			}
		})
	}
}
