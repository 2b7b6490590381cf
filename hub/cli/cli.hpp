// The channelhub command line: serve, check.
#pragma once

namespace channelhub::cli {

// Runs the subcommand named in argv; returns the process exit code (0 ok, 2 usage or config
// error, 1 runtime failure).
int Main(int argc, char** argv);

}  // namespace channelhub::cli
