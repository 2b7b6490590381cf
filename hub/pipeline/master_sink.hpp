// The master record in the pipeline: the destination of type master delivers customer and
// order events into the MasterStore (hub/master/store.hpp), and every golden-record change the
// store makes is journaled as an inbound event of the source "master", whose mapper turns it into
// one customer.golden.updated event for the routes.
//
// Exactly once: an outbox row is marked delivered only after the store committed it (the store
// ignores an event id it applied before, so a redelivery after a crash changes nothing), and the
// store's pending emissions leave it only once the journal holds them durably (the journal
// ignores an event id it has, so a repeat after a crash is harmless).
#pragma once

#include <memory>
#include <string>

#include "hub/config/config.hpp"
#include "hub/dispatch/sink.hpp"
#include "hub/journal/journal.hpp"
#include "hub/mapping/mapper.hpp"
#include "hub/master/store.hpp"

namespace channelhub::pipeline {

// The store's options from the configuration; InvalidArgument naming the master: key that is
// wrong (a match configuration the matcher refuses).
Result<master::MasterOptions> MasterOptionsFrom(const config::Config& config);

class MasterSink : public dispatch::Sink {
 public:
  // "store" and "journal" must outlive the sink.
  MasterSink(const config::DestinationConfig& destination, master::MasterStore& store, journal::Journal& journal);

  dispatch::DeliveryBatch Deliver(const std::vector<journal::OutboxRow>& rows, int64_t now_ms) override;
  void Idle(int64_t now_ms) override;

  // Journals the store's pending golden-record changes (operator actions from the CLI included).
  // Returns how many were handed over.
  std::size_t Flush();

 private:
  const config::DestinationConfig& destination_;
  master::MasterStore& store_;
  journal::Journal& journal_;
};

// The mapper of the source "master".
std::unique_ptr<mapping::Mapper> MakeGoldenMapper();

}  // namespace channelhub::pipeline
