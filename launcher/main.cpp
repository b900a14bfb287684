// The `tessera` executable: builds the command-line parser (CLI11) from the commands listed in
// Commands.def and dispatches to the one given. Every parse problem is reported as `error: ...`
// with exit code 2; --help exits 0.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "launcher/Commands.h"

using namespace tessera::launcher;

int main(int argc, char** argv) {
  CLI::App app{"Tessera: a compiler for distributed training.", "tessera"};
  app.require_subcommand(1);
  app.footer("Run 'tessera COMMAND --help' for the options of a command.");

  std::vector<std::unique_ptr<Command>> commands;
#define COMMAND(name, factory) commands.push_back(factory());
#include "launcher/Commands.def"
  std::vector<CLI::App*> subcommands;
  std::string names;
  for (auto& c : commands) {
    subcommands.push_back(c->add(app));
    names += (names.empty() ? "" : ", ") + subcommands.back()->get_name();
  }

  // CLI11 would report a misspelt command as "a subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (CLI::App* s : subcommands) known = known || argv[1] == s->get_name();
    if (!known) {
      std::cerr << "error: unknown command '" << argv[1] << "' (commands: " << names << ")\n"
                << "Run 'tessera --help' for usage.\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where;
    for (CLI::App* s : subcommands)
      if (s->parsed()) where = " " + s->get_name();
    std::cerr << "error: " << e.what() << "\n"
              << "Run 'tessera" << where << " --help' for usage.\n";
    return kExitUsage;
  }
  for (size_t i = 0; i < commands.size(); ++i)
    if (subcommands[i]->parsed()) return commands[i]->run();
  return kExitUsage;  // unreachable: require_subcommand(1)
}
