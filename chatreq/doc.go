// Package chatreq owns the rules of an OpenAI Chat Completions request:
// what OpenAI refuses with 400, checked the same way by the gateway
// (before any backend is asked, so a client's mistake never counts
// against one) and by the model function. Parse checks a body and returns
// what its reader needs; Limits.Check holds the requested output to a
// model's bounds; *Error is the broken rule, with the fields of OpenAI's
// error object (the field named as the client wrote it, the type
// invalid_request_error, OpenAI's code) and messages in JSON's terms,
// never Go's.
//
// The rules, with OpenAI's wording and codes:
//
//   - the body: a JSON object, UTF-8;
//   - model: a non-empty string (optional under Rules.ModelOptional);
//   - messages: a non-empty array of objects; each role one of Roles;
//     content, when present and not null, a string or an array of content
//     parts, objects with a string "type" and, for a "text" part, a string
//     "text" (Rules.TextOnly: text parts only, and content required except
//     on an assistant message);
//   - max_tokens, max_completion_tokens: integers >= 1 (an integral
//     decimal such as 16.0 counts); within a model's Limits;
//   - temperature: a number in [0, 2]; top_p: a number in [0, 1];
//   - n: an integer in [1, 128] (Rules.MaxChoices may bound it lower);
//   - stop: a string or an array of at most MaxStop strings;
//   - stream: a boolean; stream_options: an object, only when stream is
//     true; its include_usage a boolean;
//   - tools: an array of at most MaxTools objects {"type": "function",
//     "function": {"name", "parameters"}}, names of 1 to 64 letters,
//     digits, '_' and '-', parameters an object; tool_choice: only with
//     tools, one of ToolChoices or {"type": "function", "function":
//     {"name"}} naming one of them;
//   - response_format: an object whose type is one of ResponseFormats,
//     json_schema with {"name", "schema"} (name as a function's, schema an
//     object);
//   - logprobs: a boolean; top_logprobs: an integer in [0,
//     MaxTopLogprobs], only with logprobs true.
//
// Unknown members pass unchecked: backends have their own extensions.
// For each checked member the last one of that name wins and null means
// unset, as a backend's decoder reads it.
package chatreq
