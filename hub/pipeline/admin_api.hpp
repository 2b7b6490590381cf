// The admin API (JSON under /api/v1/), served on its own listener (admin.listen), never on the
// webhook port. Every request needs "Authorization: Bearer <token>" of a configured admin token;
// its role decides what it may do:
//   viewer    GET  /api/v1/status, /api/v1/events (the latest), /api/v1/events/{source}/{id}
//                  (one event's way: received, mapped, delivered per destination, with timings),
//                  /api/v1/dlq, /api/v1/dlq/{id}, /api/v1/audit
//   operator  + POST /api/v1/dlq/replay, /api/v1/resend
//   admin     + POST /api/v1/dlq/drop, PUT /api/v1/log-level {"level": "debug"} (until restart),
//                  POST /api/v1/config/reload (the configuration file read and checked again; see
//                  SetReload)
// With a master record (a destination of type master):
//   viewer    GET  /api/v1/customers?phone=&email=&name=&credit_code=&source=&limit= (search),
//                  /api/v1/customers/{id} (the 360° view; id: G42, a merged-away id, or
//                  system/id of a source record), /api/v1/customers/{id}/history,
//                  /api/v1/customers/reviews?state=open|resolved|accepted|rejected|all,
//                  /api/v1/customers/audit
//   operator  + POST /api/v1/customers/merge {"into", "from", "reason"},
//                  /api/v1/customers/unmerge {"record": "system/id", "reason"},
//                  /api/v1/customers/reviews/{id}/accept|reject {"reason"}
//   admin     + POST /api/v1/customers/erase {"id", "reason"} (a PIPL deletion request)
// and, without a token (it holds counts only, no data): GET /metrics in the Prometheus text
// format, for a scraper on the internal network.
// Every change is written to the audit log as "api:<token name>". Unknown or missing tokens get
// 401 and a too-weak role 403, both without saying more.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/server/http_types.hpp"

namespace channelhub::master {
class MasterStore;
}

namespace channelhub::pipeline {

class AdminApi {
 public:
  // "status": extra members of GET /api/v1/status (destination breaker states, plugins), as a
  // JSON object text; called per request.
  // "metrics": the hub's own metric lines (Prometheus text format); the journal's gauges are
  // added here.
  AdminApi(const config::Config& config, journal::Journal& journal, std::function<std::string()> status,
           std::function<std::string()> metrics = {});

  // The server's handler. Blocks on the journal for changes: run it on the admin listener's own
  // threads, never on the webhook ones.
  void Handle(server::HttpRequest&& req, server::Reply reply);

  uint64_t auth_failures() const { return auth_failures_; }

  // Serves /api/v1/customers from "store" (may be null: 404 with a hint). Before serving.
  void SetMaster(master::MasterStore* store) { master_ = store; }
  // POST /api/v1/config/reload (admin role) runs "reload": "" when the new configuration took
  // over, else what was wrong (the running one stays). Before serving.
  void SetReload(std::function<std::string()> reload) { reload_ = std::move(reload); }
  // POST /api/v1/config/check (operator role) runs "check": the configuration file on disk read
  // and checked in full, as a reload would, without applying it. Returns the problems (none: OK).
  void SetCheck(std::function<std::vector<std::string>()> check) { check_ = std::move(check); }

 private:
  void HandleCustomers(const server::HttpRequest& req, const std::string& path, const config::AdminToken& who,
                       server::Reply& reply);

  const config::AdminToken* Authenticate(const server::HttpRequest& req) const;

  const config::Config& config_;
  journal::Journal& journal_;
  std::function<std::string()> status_;
  std::function<std::string()> metrics_;
  std::atomic<uint64_t> auth_failures_{0};
  master::MasterStore* master_ = nullptr;
  std::function<std::string()> reload_;
  std::function<std::vector<std::string>()> check_;
};

}  // namespace channelhub::pipeline
