// Package deploy is the check of scfgate's deployment files, not code
// that runs: it has no exported API and nothing imports it. It sits beside
// the files it checks, the CAM policies of the functions' execution roles
// in cam/ and the CLS log index and queries in cls/ (applied by hand or
// by CI, see docs/deploy.md), and its tests
// fail when those files drift from the code:
//
//   - cam_test.go: each policy grants exactly the cloud API actions the
//     function's code calls (derived from the interfaces the SDK clients
//     are used through, or from the SDK calls in the source), each on the
//     resource its CAM level allows ("*" wherever Tencent's table says
//     operation-level, disagrees with itself or is silent), matches the
//     role that the function's serverless.yml names, and the trust
//     policy lets SCF assume the role;
//   - functions_test.go: the gateway's event and web variants share one
//     build and one configuration;
//   - layout_test.go: `sls deploy` at the repository root finds every
//     function, walking the folders as the components CLI does;
//   - cls_test.go: the CLS index (cls/index.json, CreateIndex's rule)
//     and saved queries (cls/queries.json) name only fields that the
//     gateway's access log, the scaler's decision log or SCF write, with
//     their types, taken from the logs' golden files
//     (gateway/testdata/accesslog.fields, scaler/testdata/decisionlog.fields)
//     that the logs' own tests pin.
//
// scfgate validate checks the serverless.yml files themselves.
package deploy
