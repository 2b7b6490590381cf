// Deliberately broken plugins for the plugin host's tests. One source file, built several times
// with a different CHUB_TEST_PLUGIN_KIND each (tests/CMakeLists.txt).
#include <channelhub/plugin.h>

#include <cstring>

namespace {

void* Create(const chub_host*, const chub_settings* settings, char* error, size_t size) {
  for (size_t i = 0; i < settings->count; ++i) {
    if (settings->items[i].key.size == 4 && std::memcmp(settings->items[i].key.data, "fail", 4) == 0) {
      std::strncpy(error, "the setting fail asks me to fail", size - 1);
      return nullptr;
    }
  }
  static int instance;
  return &instance;
}
void Destroy(void*) {}

const chub_connector kConnector = {"broken", "a test connector", CHUB_CAP_INBOUND, nullptr, &Create, &Destroy,
                                   nullptr /* claims inbound, has no inbound function */};

}  // namespace

#if CHUB_TEST_PLUGIN_KIND == 1
// Built for an ABI version this hub does not speak.
extern "C" __attribute__((visibility("default"))) const chub_plugin* chub_plugin_entry_v1(void) {
  static const chub_plugin p = {CHUB_PLUGIN_ABI_VERSION + 7, "future-plugin", "9.0", &kConnector, 1};
  return &p;
}
#elif CHUB_TEST_PLUGIN_KIND == 2
// No entry symbol at all: some other shared library.
extern "C" __attribute__((visibility("default"))) int not_a_channelhub_plugin(void) { return 1; }
#elif CHUB_TEST_PLUGIN_KIND == 3
// A connector that claims a capability without the function for it.
extern "C" __attribute__((visibility("default"))) const chub_plugin* chub_plugin_entry_v1(void) {
  static const chub_plugin p = {CHUB_PLUGIN_ABI_VERSION, "liar-plugin", "1.0", &kConnector, 1};
  return &p;
}
#endif
