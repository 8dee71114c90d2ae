// BENCHMARK PEER — not part of the product. The chat semantics of the service
// (rooms; a message broadcast to its room across instances, kept in the
// room's history, members in its presence) on github.com/centrifugal/centrifuge,
// the Go engine under Centrifugo: Redis broker with history, Redis presence,
// anonymous connections, client-side subscribe and publish. Configured like the
// service: PORT, HOST, REDIS_URL, INSTANCE_ID, HISTORY_LIMIT.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
)

// historyTTL keeps a room's history as long as the service keeps its stream
// alive between messages; channelLimit lets one connection hold as many rooms
// as the service's bench configuration (MAX_ROOMS_PER_CONNECTION).
const (
	historyTTL   = 10 * time.Minute
	channelLimit = 1000
)

func envInt(name string, fallback int) int {
	raw := os.Getenv(name)
	if raw == "" {
		return fallback
	}
	value, err := strconv.Atoi(raw)
	if err != nil || value < 1 {
		log.Fatalf("%s must be a positive integer, got %q", name, raw)
	}
	return value
}

func main() {
	historyLimit := envInt("HISTORY_LIMIT", 1000)
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		log.Fatal("REDIS_URL is required")
	}
	node, err := centrifuge.New(centrifuge.Config{
		Name:               os.Getenv("INSTANCE_ID"),
		LogLevel:           centrifuge.LogLevelError,
		ClientChannelLimit: channelLimit,
		LogHandler:         func(e centrifuge.LogEntry) { log.Printf("%s %v", e.Message, e.Fields) },
	})
	if err != nil {
		log.Fatal(err)
	}
	shard, err := centrifuge.NewRedisShard(node, centrifuge.RedisShardConfig{Address: redisURL})
	if err != nil {
		log.Fatal(err)
	}
	broker, err := centrifuge.NewRedisBroker(node, centrifuge.RedisBrokerConfig{Shards: []*centrifuge.RedisShard{shard}})
	if err != nil {
		log.Fatal(err)
	}
	node.SetBroker(broker)
	presence, err := centrifuge.NewRedisPresenceManager(node, centrifuge.RedisPresenceManagerConfig{Shards: []*centrifuge.RedisShard{shard}})
	if err != nil {
		log.Fatal(err)
	}
	node.SetPresenceManager(presence)

	node.OnConnecting(func(_ context.Context, _ centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: ""}}, nil
	})
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{Options: centrifuge.SubscribeOptions{EmitPresence: true}}, nil)
		})
		client.OnPublish(func(_ centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			cb(centrifuge.PublishReply{Options: centrifuge.PublishOptions{HistorySize: historyLimit, HistoryTTL: historyTTL}}, nil)
		})
	})
	if err := node.Run(); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		// The bench connects from Node without an Origin header, on loopback only.
		CheckOrigin: func(*http.Request) bool { return true },
	}))
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	// The bench's memory workload collects garbage before reading the heap, as it
	// does for the Node systems through the inspector.
	mux.HandleFunc("/debug/gc", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var stats runtime.MemStats
		runtime.ReadMemStats(&stats)
		_ = json.NewEncoder(w).Encode(map[string]uint64{"heapUsed": stats.HeapAlloc})
	})

	// `npm run bench:profile` takes a CPU profile of each instance over its window.
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)

	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	server := &http.Server{Addr: host + ":" + strconv.Itoa(envInt("PORT", 8080)), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	_ = server.Close()
	_ = node.Shutdown(context.Background())
}
