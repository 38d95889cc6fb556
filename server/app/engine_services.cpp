#include "server/app/engine_services.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include "server/app/module_actions.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/calendar.h"
#include "server/engine/definition_loader.h"
#include "server/engine/schedule.h"
#include "server/mail/folder_mailer.h"
#include "server/store/sqlite_store.h"

namespace sendflow::app {

core::StatusOr<std::unique_ptr<EngineServices>> openEngine(const Settings& settings,
                                                           bool load_definitions,
                                                           std::ostream& err) {
  auto services = std::make_unique<EngineServices>();
  services->clock = std::make_unique<core::SystemClock>();

  SENDFLOW_ASSIGN_OR_RETURN(std::string store_type, settings.getString("store.type", "sqlite"));
  if (store_type != "sqlite") {
    return settings.badValue("store.type", "'" + store_type + "' is not supported yet (sqlite)");
  }
  SENDFLOW_ASSIGN_OR_RETURN(std::string path,
                            settings.getPath("store.sqlite.path", "var/sendflow.db"));
  SENDFLOW_ASSIGN_OR_RETURN(std::string sync,
                            settings.getString("store.sqlite.synchronous", "normal"));
  store::SqliteOptions sqlite;
  if (sync == "full") {
    sqlite.synchronous = store::SqliteSync::kFull;
  } else if (sync != "normal") {
    return settings.badValue("store.sqlite.synchronous", "'" + sync + "' is not normal or full");
  }
  SENDFLOW_ASSIGN_OR_RETURN(auto store, store::SqliteStore::open(path, sqlite));
  services->store = std::move(store);

  engine::BuiltinActionOptions builtin;
  SENDFLOW_ASSIGN_OR_RETURN(builtin.audit_file, settings.getPath("engine.audit_file", ""));
  services->actions = std::make_unique<engine::ActionRegistry>();
  SENDFLOW_RETURN_IF_ERROR(engine::registerBuiltinActions(*services->actions, builtin));
  SENDFLOW_RETURN_IF_ERROR(registerModuleActions(*services->actions, settings,
                                                 Settings::processEnvironment(), *services->clock));

  engine::RuntimeOptions options;
  SENDFLOW_ASSIGN_OR_RETURN(options.lease,
                            settings.getDuration("engine.job_lease", std::chrono::minutes(5)));
  SENDFLOW_ASSIGN_OR_RETURN(options.run_jobs_inline, settings.getBool("engine.inline_jobs", true));
  SENDFLOW_ASSIGN_OR_RETURN(long long workers, settings.getInt("engine.workers", 2));
  if (workers < 1 || workers > 64) return settings.badValue("engine.workers", "must be 1 to 64");
  services->workers = static_cast<int>(workers);
  SENDFLOW_ASSIGN_OR_RETURN(services->poll_interval,
                            settings.getDuration("engine.poll_interval", std::chrono::seconds(1)));
  SENDFLOW_ASSIGN_OR_RETURN(services->http_address,
                            settings.getString("http.address", "127.0.0.1"));
  SENDFLOW_ASSIGN_OR_RETURN(long long port, settings.getInt("http.port", 8080));
  if (port < 0 || port > 65535) return settings.badValue("http.port", "must be 0 to 65535");
  services->http_port = static_cast<int>(port);

  services->runtime = std::make_unique<engine::Runtime>(*services->store, *services->actions,
                                                        *services->clock, options);
  engine::LoaderOptions loader;
  // A council's own bank holidays replace the built-in England and Wales list for every
  // working-day calculation (due dates, reminders, escalations).
  SENDFLOW_ASSIGN_OR_RETURN(const std::string holidays,
                            settings.getString("calendar.bank_holidays", ""));
  if (!holidays.empty()) {
    auto calendar = engine::WorkingCalendar::parse(holidays);
    if (!calendar.isOk()) {
      return settings.badValue("calendar.bank_holidays", calendar.status().message());
    }
    engine::WorkingCalendar::setDefault(*calendar);
    loader.calendar = *calendar;
  }
  for (const std::string& name : services->actions->names()) loader.known_actions.insert(name);
  services->runtime->setDefinitionParser(
      [loader](
          const std::string& source,
          const std::string& label) -> core::StatusOr<std::shared_ptr<const engine::Definition>> {
        engine::LoadResult r = engine::DefinitionLoader::loadString(source, label, loader);
        if (!r.isOk()) return r.status();
        return r.definition;
      });
  services->scheduler = std::make_unique<engine::Scheduler>(
      *services->runtime, *services->clock,
      [](const engine::Schedule& s, core::TimePoint after) -> std::optional<core::TimePoint> {
        return engine::nextFiring(s, after);
      });

  SENDFLOW_ASSIGN_OR_RETURN(std::string outbox_dir,
                            settings.getPath("mail.outbox.dir", "var/outbox"));
  SENDFLOW_ASSIGN_OR_RETURN(std::string from,
                            settings.getString("mail.from", "sendflow@localhost"));
  mail::DispatcherOptions mail_options;
  mail_options.sender.address = from;
  services->mailer = std::make_unique<mail::FolderMailer>(outbox_dir);
  services->outbox = std::make_unique<mail::OutboxDispatcher>(*services->store, *services->mailer,
                                                              *services->clock, mail_options);

  if (load_definitions) {
    SENDFLOW_ASSIGN_OR_RETURN(std::string dir, settings.getPath("workflows.dir", "workflows"));
    engine::DirectoryLoadResult loaded = engine::DefinitionLoader::loadDirectory(dir, loader);
    for (const auto& problem : loaded.problems) err << problem.toString() << "\n";
    for (const auto& def : loaded.definitions) {
      std::ifstream in(def->source_file, std::ios::binary);
      std::stringstream source;
      source << in.rdbuf();
      auto version = services->runtime->deploy(def, source.str());
      if (!version.isOk()) return version.status().withContext(def->source_file);
      ++services->definitions_loaded;
    }
  }
  return services;
}

}  // namespace sendflow::app
