// Substitution of ${...} references in configuration strings: secrets from the environment or from
// files, and the data directory. Internal to hub/config.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace channelhub::config::detail {

struct SubstitutionContext {
  // The final data directory; nullopt where ${data_dir} cannot be used (in data_dir itself).
  std::optional<std::string> data_dir;
  // data_dir came from ${env:...} or ${file:...}: text that uses ${data_dir} is secret as well.
  bool data_dir_secret = false;
  // Relative ${file:...} paths are read from this directory (the config file's); "" = the working
  // directory.
  std::string base_dir;
};

struct Substituted {
  std::string value;    // the text with every reference replaced (partial when errors is not empty)
  bool secret = false;  // an ${env:...} or ${file:...} was used: never show "value" in a message
  bool changed = false;             // any reference was replaced
  std::vector<std::string> errors;  // one message per bad reference; no secret text in them
};

// Replaces, in "text":
//   ${env:NAME}    the environment variable NAME; an error when it is not set or empty;
//   ${file:PATH}   the contents of the file PATH without trailing whitespace; an error (with the
//                  operating system's reason) when it cannot be read, and when it is empty;
//   ${data_dir}    context.data_dir;
//   $${            a literal "${".
// Anything else written as ${...} is an error. Reads the environment and the file system; safe to
// call from several threads only while nobody changes the environment.
Substituted Substitute(std::string_view text, const SubstitutionContext& context);

// Reads all of "path" into "*out". Returns nullopt on success, else the reason it could not (the
// operating system's, like "No such file or directory", or that it is larger than "max_bytes").
std::optional<std::string> ReadFileText(const std::string& path, std::size_t max_bytes,
                                        std::string* out);

}  // namespace channelhub::config::detail
