// Package deploy holds scfgate's deployment files that are not
// serverless.yml: the CAM policies of the functions' execution roles in
// cam/ (see docs/deploy.md). Its tests check that each policy grants
// exactly the cloud API actions the function's code calls, and that the
// gateway's event and web variants share one configuration.
package deploy
