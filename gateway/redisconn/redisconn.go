// Package redisconn is the connection to the gateways' Redis: its
// settings (Conn) and the client every user makes from them, the
// gateway's shared limiter and breakers (redislimit), its in-flight
// publisher and the scaler reading it (redissignal). It depends on
// go-redis only, so that the scaler links none of the gateway.
package redisconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conn is the Redis connection and key prefix: what every user of the
// gateways' Redis needs (the gateway's limiter and breakers, its
// in-flight publisher, the scaler reading it).
type Conn struct {
	// Addr is host:port of Redis, e.g. 10.0.0.12:6379 (a TencentDB for
	// Redis instance's private address). "" disables shared shaping.
	Addr string `mapstructure:"addr" json:"addr"`
	// Username is the ACL user ("" for the default user). TencentDB uses
	// "<instance id>:<account>" style passwords for sub-accounts instead.
	Username string `mapstructure:"username" json:"username"`
	// Password authenticates; prefer the environment
	// (SCFGATE_GATEWAY_REDIS_PASSWORD) to a file.
	Password string `mapstructure:"password" json:"password"`
	// DB is the database number; default 0.
	DB int `mapstructure:"db" json:"db"`
	// TLS connects with TLS (TencentDB instances with SSL enabled).
	TLS bool `mapstructure:"tls" json:"tls"`
	// TLSServerName overrides the name checked in the server certificate;
	// "" uses Addr's host.
	TLSServerName string `mapstructure:"tls_server_name" json:"tls_server_name"`
	// Timeout bounds every Redis call made on the request path, dialling
	// included; default 50 ms. No request waits longer for Redis.
	Timeout time.Duration `mapstructure:"timeout" json:"timeout"`
	// PoolSize is the connection pool's size; default 10 (an SCF
	// instance serves one request at a time).
	PoolSize int `mapstructure:"pool_size" json:"pool_size"`
	// KeyPrefix starts every key; default "scfgate:". Gateways sharing a
	// prefix share their limits.
	KeyPrefix string `mapstructure:"key_prefix" json:"key_prefix"`
}

// DefaultConn returns the connection defaults: no Addr, 50 ms timeout,
// 10 connections, key prefix "scfgate:".
func DefaultConn() Conn {
	return Conn{Timeout: 50 * time.Millisecond, PoolSize: 10, KeyPrefix: "scfgate:"}
}

// Enabled tells whether Redis is configured.
func (c Conn) Enabled() bool { return c.Addr != "" }

// Validate reports every invalid field, naming its key (under "redis.").
func (c Conn) Validate() error {
	var errs []error
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("config redis.%s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if c.DB < 0 {
		bad("db", c.DB, ">= 0")
	}
	if c.Timeout <= 0 || c.Timeout > 10*time.Second {
		bad("timeout", c.Timeout, "> 0 and <= 10s")
	}
	if c.PoolSize < 1 {
		bad("pool_size", c.PoolSize, ">= 1")
	}
	if c.KeyPrefix == "" {
		bad("key_prefix", `""`, "a non-empty prefix")
	}
	return errors.Join(errs...)
}

// NewClient returns a client of the Redis cfg describes, connecting
// lazily, every call bounded by cfg.Timeout and never retried.
func NewClient(cfg Conn) *redis.Client {
	opt := &redis.Options{
		Addr:     cfg.Addr,
		Username: cfg.Username,
		Password: cfg.Password,
		DB:       cfg.DB,
		Protocol: 2, // no HELLO round trip; works with Redis 4 and 5 too
		// Every call is bounded by Timeout, dialling included, and never
		// retried: a late answer is no answer.
		DialTimeout:           cfg.Timeout,
		ReadTimeout:           cfg.Timeout,
		WriteTimeout:          cfg.Timeout,
		PoolTimeout:           cfg.Timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
		PoolSize:              cfg.PoolSize,
		DisableIdentity:       true,
	}
	if cfg.TLS {
		host := cfg.TLSServerName
		if host == "" {
			host, _, _ = net.SplitHostPort(cfg.Addr)
		}
		opt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return redis.NewClient(opt)
}
