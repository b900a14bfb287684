// The `tessera` executable: parses the command line (CLI11) and dispatches to a subcommand.
// Every parse problem is reported as `error: ...` with exit code 2; --help exits 0.
#include <iostream>

#include "launcher/Commands.h"

using namespace tessera::launcher;

int main(int argc, char** argv) {
  CLI::App app{"Tessera: a compiler for distributed training.", "tessera"};
  app.require_subcommand(1);
  app.footer("Run 'tessera COMMAND --help' for the options of a command.");
  OptOptions opt;
  EvalOptions eval;
  CLI::App* optCmd = addOptCommand(app, opt);
  CLI::App* evalCmd = addEvalCommand(app, eval);
  // CLI11 would report a misspelt command as "a subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-' && argv[1] != optCmd->get_name() &&
      argv[1] != evalCmd->get_name()) {
    std::cerr << "error: unknown command '" << argv[1] << "' (commands: opt, eval)\n"
              << "Run 'tessera --help' for usage.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = optCmd->parsed() ? " opt" : evalCmd->parsed() ? " eval" : "";
    std::cerr << "error: " << e.what() << "\n"
              << "Run 'tessera" << where << " --help' for usage.\n";
    return kExitUsage;
  }
  if (optCmd->parsed()) return runOpt(opt);
  if (evalCmd->parsed()) return runEval(eval);
  return kExitUsage;  // unreachable: require_subcommand(1)
}
