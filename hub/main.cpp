// channelhub: parses the command line and hands over to the subcommands in hub/cli.
#include "hub/cli/cli.hpp"

int main(int argc, char** argv) { return channelhub::cli::Main(argc, argv); }
