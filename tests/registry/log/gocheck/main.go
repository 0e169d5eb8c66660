// gocheck: an independent reference for vial's transparency log, built on Go's
// golang.org/x/mod/sumdb/tlog and golang.org/x/mod/sumdb/note packages.
//
// It reads one JSON request on stdin and writes one JSON answer on stdout:
//   - every tree hash, inclusion proof and consistency proof for the given records;
//   - whether Go's note.Open verifies a note signed by vial;
//   - a note Go signs with a key derived from a fixed seed (for vial to verify);
//   - a sumdb tree note formatted by tlog.FormatTree (a checkpoint with Go's origin).
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Records  [][]byte `json:"records"`
	VialNote struct {
		Vkey   string `json:"vkey"`
		Signed []byte `json:"signed"`
	} `json:"vial_note"`
	GoSign struct {
		Name string `json:"name"`
		Seed string `json:"seed"`
		Text string `json:"text"`
	} `json:"go_sign"`
}

type answer struct {
	Roots       []string            `json:"roots"`
	Inclusion   map[string][]string `json:"inclusion"`
	Consistency map[string][]string `json:"consistency"`
	StoredCount []int64             `json:"stored_count"`
	VialNote    struct {
		Text     string   `json:"text"`
		Verified []string `json:"verified"`
		Error    string   `json:"error"`
	} `json:"vial_note"`
	GoSigned struct {
		Skey   string `json:"skey"`
		Vkey   string `json:"vkey"`
		Signed string `json:"signed"`
	} `json:"go_signed"`
	TreeNote string `json:"tree_note"`
}

type seededReader struct {
	block [32]byte
	used  int
}

func (r *seededReader) Read(p []byte) (int, error) {
	for i := range p {
		if r.used == len(r.block) {
			r.block = sha256.Sum256(r.block[:])
			r.used = 0
		}
		p[i] = r.block[r.used]
		r.used++
	}
	return len(p), nil
}

func hexes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = fmt.Sprintf("%x", h[:])
	}
	return out
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		panic(err)
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	ans := answer{Inclusion: map[string][]string{}, Consistency: map[string][]string{}}
	for n, data := range req.Records {
		hashes, err := tlog.StoredHashes(int64(n), data, reader)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hashes...)
	}
	for t := int64(0); t <= int64(len(req.Records)); t++ {
		ans.StoredCount = append(ans.StoredCount, tlog.StoredHashCount(t))
		root, err := tlog.TreeHash(t, reader)
		if err != nil {
			panic(err)
		}
		ans.Roots = append(ans.Roots, fmt.Sprintf("%x", root[:]))
		for n := int64(0); n < t; n++ {
			p, err := tlog.ProveRecord(t, n, reader)
			if err != nil {
				panic(err)
			}
			ans.Inclusion[fmt.Sprintf("%d,%d", n, t)] = hexes(p)
		}
		for n := int64(1); n <= t; n++ {
			p, err := tlog.ProveTree(t, n, reader)
			if err != nil {
				panic(err)
			}
			ans.Consistency[fmt.Sprintf("%d,%d", n, t)] = hexes(p)
		}
	}

	if req.VialNote.Vkey != "" {
		v, err := note.NewVerifier(req.VialNote.Vkey)
		if err != nil {
			ans.VialNote.Error = err.Error()
		} else if n, err := note.Open(req.VialNote.Signed, note.VerifierList(v)); err != nil {
			ans.VialNote.Error = err.Error()
		} else {
			ans.VialNote.Text = n.Text
			for _, s := range n.Sigs {
				ans.VialNote.Verified = append(ans.VialNote.Verified, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
		}
	}

	if req.GoSign.Name != "" {
		seed := &seededReader{block: sha256.Sum256([]byte(req.GoSign.Seed))}
		skey, vkey, err := note.GenerateKey(seed, req.GoSign.Name)
		if err != nil {
			panic(err)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			panic(err)
		}
		msg, err := note.Sign(&note.Note{Text: req.GoSign.Text}, signer)
		if err != nil {
			panic(err)
		}
		ans.GoSigned.Skey, ans.GoSigned.Vkey, ans.GoSigned.Signed = skey, vkey, string(msg)
	}

	if len(req.Records) > 0 {
		root, _ := tlog.TreeHash(int64(len(req.Records)), reader)
		ans.TreeNote = string(tlog.FormatTree(tlog.Tree{N: int64(len(req.Records)), Hash: root}))
	}

	if err := json.NewEncoder(os.Stdout).Encode(&ans); err != nil {
		panic(err)
	}
}
