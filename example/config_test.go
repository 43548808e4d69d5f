package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    func(config) bool
		wantErr string
	}{
		{name: "defaults", want: func(c config) bool {
			return c.Addr == "127.0.0.1:8080" && c.DemoPassword == "demo-password" && c.DatabaseURL == "" &&
				c.IdleTimeout == 4*time.Hour && c.AbsoluteTimeout == 8*time.Hour && c.WarningThreshold == 5*time.Minute &&
				c.ReauthWindow == 10*time.Minute && c.MetricsAddr == "127.0.0.1:9464"
		}},
		{name: "environment", env: map[string]string{"ADDR": "localhost:9000", "IDLE_TIMEOUT": "20s", "ABSOLUTE_TIMEOUT": "1h",
			"WARNING_THRESHOLD": "10s", "REAUTH_WINDOW": "30s", "DEMO_PASSWORD": "another-one", "DATABASE_URL": "postgres://u:p@db/x"},
			want: func(c config) bool {
				return c.Addr == "localhost:9000" && c.IdleTimeout == 20*time.Second && c.AbsoluteTimeout == time.Hour &&
					c.WarningThreshold == 10*time.Second && c.DemoPassword == "another-one" && c.DatabaseURL == "postgres://u:p@db/x" && c.ReauthWindow == 30*time.Second
			}},
		{name: "flags beat environment", env: map[string]string{"IDLE_TIMEOUT": "20s"}, args: []string{"-idle-timeout", "30s", "-warning-threshold", "5s", "-addr", "[::1]:0"},
			want: func(c config) bool { return c.IdleTimeout == 30*time.Second && c.Addr == "[::1]:0" }},
		{name: "metrics address", env: map[string]string{"METRICS_ADDR": "10.0.0.5:9100"},
			want: func(c config) bool { return c.MetricsAddr == "10.0.0.5:9100" }},
		{name: "metrics address flag", args: []string{"-metrics-addr", "[::1]:9100"},
			want: func(c config) bool { return c.MetricsAddr == "[::1]:9100" }},
		{name: "metrics address without a port", env: map[string]string{"METRICS_ADDR": "127.0.0.1"}, wantErr: "METRICS_ADDR"},
		{name: "metrics address with a bad port", env: map[string]string{"METRICS_ADDR": "127.0.0.1:99999"}, wantErr: "METRICS_ADDR"},
		{name: "metrics address empty", args: []string{"-metrics-addr", ""}, wantErr: "METRICS_ADDR"},
		{name: "metrics on the pages' address", env: map[string]string{"ADDR": "127.0.0.1:9000", "METRICS_ADDR": "127.0.0.1:9000"},
			wantErr: "METRICS_ADDR"},
		{name: "pages' address with a bad port", env: map[string]string{"ADDR": "127.0.0.1:99999"}, wantErr: "ADDR"},
		{name: "pages' address with a port that is no number", env: map[string]string{"ADDR": "127.0.0.1:eighty"}, wantErr: "ADDR"},
		{name: "reauth window flag", args: []string{"-reauth-window", "2m"}, want: func(c config) bool { return c.ReauthWindow == 2*time.Minute }},
		{name: "reauth window of zero", env: map[string]string{"REAUTH_WINDOW": "0s"}, wantErr: "REAUTH_WINDOW"},
		{name: "not a duration", env: map[string]string{"IDLE_TIMEOUT": "20"}, wantErr: "IDLE_TIMEOUT"},
		{name: "fraction of a second", args: []string{"-warning-threshold", "1500ms"}, wantErr: "whole number of seconds"},
		{name: "warning not shorter than idle", env: map[string]string{"IDLE_TIMEOUT": "10s", "WARNING_THRESHOLD": "10s"}, wantErr: "WARNING_THRESHOLD"},
		{name: "idle beyond absolute", env: map[string]string{"IDLE_TIMEOUT": "9h"}, wantErr: "must not exceed ABSOLUTE_TIMEOUT"},
		{name: "all interfaces", env: map[string]string{"ADDR": ":8080"}, wantErr: "loopback"},
		{name: "public address", args: []string{"-addr", "192.0.2.1:80"}, wantErr: "loopback"},
		{name: "short password", env: map[string]string{"DEMO_PASSWORD": "short"}, wantErr: "DEMO_PASSWORD"},
		{name: "no proxies by default", want: func(c config) bool { return c.TrustedProxies == nil }},
		{name: "trusted proxies", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,::ffff:192.0.2.9, 2001:db8::/32"},
			want: func(c config) bool {
				return fmt.Sprint(c.TrustedProxies) == "[10.0.0.0/8 192.0.2.1/32 192.0.2.9/32 2001:db8::/32]"
			}},
		{name: "trusted proxies flag", args: []string{"-trusted-proxies", "127.0.0.1"},
			want: func(c config) bool { return fmt.Sprint(c.TrustedProxies) == "[127.0.0.1/32]" }},
		{name: "trusted proxy that is no address", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"},
			wantErr: "TRUSTED_PROXIES"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestTouchInterval(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ idle, want time.Duration }{
		{4 * time.Hour, time.Minute},
		{30 * time.Minute, 30 * time.Second},
		{119 * time.Second, time.Second},
		{59 * time.Second, -1},
		{20 * time.Second, -1},
	} {
		if got := touchInterval(tt.idle); got != tt.want {
			t.Errorf("touchInterval(%v) = %v, want %v", tt.idle, got, tt.want)
		}
	}
}
