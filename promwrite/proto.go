package promwrite

import (
	"encoding/binary"
	"math"
	"slices"
)

// The remote-write 1.0 messages, encoded by hand (prometheus/prompb
// types.proto and remote.proto; only what a write request needs):
//
//	message WriteRequest { repeated TimeSeries timeseries = 1; }
//	message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	message Label        { string name = 1; string value = 2; }
//	message Sample       { double value = 1; int64 timestamp = 2; } // ms since the epoch
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// point is one queued sample: a series' labels (the instance labels
// added), its value and when it was read.
type point struct {
	labels []Label
	value  float64
	ms     int64
}

// encodeWriteRequest appends the WriteRequest of points to b, one
// TimeSeries per point (in order, so each series' samples stay in time
// order).
func encodeWriteRequest(b []byte, points []point) []byte {
	n := 0
	for _, p := range points {
		n += bytesFieldSize(timeSeriesSize(p))
	}
	b = slices.Grow(b, n) // one allocation, not one per doubling
	for _, p := range points {
		b = appendTag(b, 1, wireBytes)
		b = binary.AppendUvarint(b, uint64(timeSeriesSize(p)))
		for _, l := range p.labels {
			b = appendTag(b, 1, wireBytes)
			b = binary.AppendUvarint(b, uint64(labelSize(l)))
			b = appendString(b, 1, l.Name)
			b = appendString(b, 2, l.Value)
		}
		b = appendTag(b, 2, wireBytes)
		b = binary.AppendUvarint(b, uint64(sampleSize(p)))
		b = appendTag(b, 1, wireFixed64)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.value))
		b = appendTag(b, 2, wireVarint)
		b = binary.AppendUvarint(b, uint64(p.ms))
	}
	return b
}

func appendTag(b []byte, field int, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendString(b []byte, field int, s string) []byte {
	b = appendTag(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// uvarintSize is the length of x as a varint.
func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func bytesFieldSize(n int) int { return 1 + uvarintSize(uint64(n)) + n } // tags here are one byte

func labelSize(l Label) int { return bytesFieldSize(len(l.Name)) + bytesFieldSize(len(l.Value)) }

func sampleSize(p point) int { return 1 + 8 + 1 + uvarintSize(uint64(p.ms)) }

func timeSeriesSize(p point) int {
	n := bytesFieldSize(sampleSize(p))
	for _, l := range p.labels {
		n += bytesFieldSize(labelSize(l))
	}
	return n
}
