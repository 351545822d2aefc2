# scfgate: serverless LLM gateway and autoscaler for Tencent Cloud SCF.
# `make help` lists the targets.

GO        ?= go
BIN       := bin/scfgate
# Function code folders (a main package each). Their serverless.yml files
# are at the repository root: serverless.yml + fn-*/serverless.yml, the
# layout `sls deploy` and `scfgate deploy` read (docs/deploy.md).
FUNCTIONS := $(patsubst %/main.go,%,$(wildcard localcloud/fixtures/*/main.go functions/*/main.go))
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: help build functions run deploy deploy-plan test test-short bench bench-hop soak lint fmt package clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: functions ## Build bin/scfgate and every function's dist/main
	$(GO) build -trimpath -o $(BIN) ./cmd/scfgate

functions: ## Build each function folder's dist/ (main, plus scf_bootstrap for web functions)
	@for d in $(FUNCTIONS); do \
		mkdir -p $$d/dist && \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -buildid=" -o $$d/dist/main ./$$d || exit 1; \
		if [ -f $$d/scf_bootstrap ]; then cp $$d/scf_bootstrap $$d/dist/scf_bootstrap && chmod 755 $$d/dist/scf_bootstrap; fi; \
	done

run: build ## Start an empty localcloud and deploy the repository to it (front door :8080, API :9090)
	$(BIN) local --deploy --project .

deploy: build ## Deploy the repository with scfgate deploy (credentials: TENCENTCLOUD_SECRET_ID/KEY; STAGE=dev)
	$(BIN) deploy --stage $(or $(STAGE),dev)

deploy-plan: build ## Print what scfgate deploy would change, change nothing
	$(BIN) deploy --dry-run --stage $(or $(STAGE),dev)

test: ## Vet and run every test, end-to-end tests included (starts Redis if none answers)
	scripts/ensure-redis.sh
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -timeout 15m ./...

test-short: ## Run the fast tests only
	$(GO) test -short ./...

bench: ## Run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-hop: ## Latency and CPU one scfgate hop adds, next to nginx's (bench/hop.sh; installs nginx, ~4 min)
	bench/hop.sh
soak: build ## 10 minutes at 50 requests/s under scheduled faults, checked (SOAK_FLAGS adds flags)
	$(BIN) soak --duration 10m --rps 50 --out bin/soak.json $(SOAK_FLAGS)

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...

package: ## Build reproducible linux/amd64 SCF zips of every function into bin/packages
	$(GO) run ./cmd/scfgate package $(FUNCTIONS)

fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## Remove build output
	rm -rf bin $(addsuffix /dist,$(FUNCTIONS))
