// Encryption at rest (hub/common/seal.hpp): the cost of sealing and opening one stored value, by
// size (a webhook body is typically 1-4 KiB, a golden-record version ~0.5 KiB deflated), and of
// one blind-index hash.
//
//   build/bench/seal_bench
#include <benchmark/benchmark.h>

#include <string>

#include "hub/common/seal.hpp"

namespace {

using channelhub::seal::Keyring;

void BM_Seal(benchmark::State& state) {
  auto ring = *Keyring::Create(channelhub::seal::RandomKey());
  const std::string plain(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(ring->Seal(plain, "journal.inbox.body"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Unseal(benchmark::State& state) {
  auto ring = *Keyring::Create(channelhub::seal::RandomKey());
  const std::string sealed = ring->Seal(std::string(static_cast<std::size_t>(state.range(0)), 'x'), "a");
  for (auto _ : state) benchmark::DoNotOptimize(ring->Unseal(sealed, "a"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_BlindIndex(benchmark::State& state) {
  const std::string key = channelhub::seal::RandomKey();
  for (auto _ : state) benchmark::DoNotOptimize(channelhub::seal::BlindIndex(key, "mobile", "+8613800138000"));
}

BENCHMARK(BM_Seal)->Arg(256)->Arg(2048)->Arg(65536);
BENCHMARK(BM_Unseal)->Arg(256)->Arg(2048)->Arg(65536);
BENCHMARK(BM_BlindIndex);

}  // namespace

BENCHMARK_MAIN();
