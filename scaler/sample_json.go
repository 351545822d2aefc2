package scaler

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes a reported value as a number and "no data" as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	if !m.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(m.Value)
}

// UnmarshalJSON reads a number as a reported value and null as "no data".
func (m *Metric) UnmarshalJSON(b []byte) error {
	var v *float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Metric{}
	if v != nil {
		*m = Observed(*v)
	}
	return nil
}

// sampleJSON is a Sample as logged, in Cloud Monitor's terms.
type sampleJSON struct {
	Time                 time.Time `json:"time"`
	ConcurrentExecutions Metric    `json:"concurrent_executions"`
	Invocations          Metric    `json:"invocations"`
	DurationMs           Metric    `json:"duration_ms"`
	MemMB                Metric    `json:"mem_mb"`
}

// MarshalJSON writes the sample with snake_case keys, missing points as
// null.
func (s Sample) MarshalJSON() ([]byte, error) { return json.Marshal(sampleJSON(s)) }

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Sample) UnmarshalJSON(b []byte) error {
	var j sampleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Sample(j)
	return nil
}
