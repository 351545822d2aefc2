package preload

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// SynthFile is one file of a synthetic model directory.
type SynthFile struct {
	Name string
	Size int64
}

// SeedLayout lays out about total bytes as the seed plan expects: a base
// runtime (1/16), the embedding layer (1/8) and eight transformer blocks.
func SeedLayout(total int64) []SynthFile {
	out := []SynthFile{{"runtime/base_runtime.so", total / 16}, {"embedding_layer.bin", total / 8}}
	rest := total - total/16 - total/8
	for i := range 8 {
		out = append(out, SynthFile{fmt.Sprintf("transformer_block_%02d.bin", i), rest / 8})
	}
	return out
}

// CheckpointLayout lays out about total bytes as a Hugging Face checkpoint:
// config.json, tokenizer.json and shards model-0000i-of-0000n.safetensors.
func CheckpointLayout(total int64, shards int) []SynthFile {
	shards = max(1, shards)
	out := []SynthFile{{"config.json", 4 << 10}, {"tokenizer.json", 1 << 20}}
	for i := 1; i <= shards; i++ {
		out = append(out, SynthFile{fmt.Sprintf("model-%05d-of-%05d.safetensors", i, shards), total / int64(shards)})
	}
	return out
}

// WriteSynthetic writes files under dir with pseudo-random content (so no
// file system can store them sparsely or compress them). A file already
// there with the right size is kept.
func WriteSynthetic(dir string, files []SynthFile) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if fi, err := os.Stat(p); err == nil && fi.Size() == f.Size {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("preload: synthetic: %w", err)
		}
		if err := writeRandom(p, f.Size, uint64(len(f.Name))*0x9e3779b97f4a7c15+uint64(f.Size)); err != nil {
			return fmt.Errorf("preload: synthetic %s: %w", f.Name, err)
		}
	}
	return nil
}

// writeRandom writes the file under a name of its own and renames it into
// place, so that processes writing the same file at once (instances
// sharing a folder) each leave a whole file and none fails.
func writeRandom(p string, size int64, seed uint64) error {
	out, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.part")
	if err != nil {
		return err
	}
	tmp := out.Name()
	defer os.Remove(tmp) // a no-op after the rename
	w := bufio.NewWriterSize(out, 1<<20)
	var buf [8]byte
	x := seed | 1
	for n := int64(0); n < size; n += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for i := range buf {
			buf[i] = byte(x >> (8 * i))
		}
		if _, err := w.Write(buf[:min(8, size-n)]); err != nil {
			out.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
