#include "server/app/engine_services.h"

#include <fstream>
#include <iostream>
#include <ostream>
#include <sstream>

#include "server/app/module_actions.h"
#include "server/app/service.h"
#include "server/core/private_files.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/calendar.h"
#include "server/engine/definition_loader.h"
#include "server/engine/schedule.h"
#include "server/mail/folder_mailer.h"
#include "server/mail/recipient_resolver.h"
#include "server/mail/smtp_mailer.h"
#include "server/store/sqlite_store.h"

namespace sendflow::app {

namespace {

// The mail transport and the outbox dispatcher, from the mail.* keys. Failures are logged to
// stderr, one line each, and kept in the outbox row (status, attempts, last_error).
core::Status openMail(const Settings& settings, EngineServices& services) {
  mail::DispatcherOptions options;
  SENDFLOW_ASSIGN_OR_RETURN(options.sender.address,
                            settings.getString("mail.from", "sendflow@localhost"));
  SENDFLOW_ASSIGN_OR_RETURN(options.sender.display_name,
                            settings.getString("mail.from_name", "sendflow"));
  // The mail module's checks say "<key>: <problem>"; the settings add the file.
  auto badMailValue = [&settings](const core::Status& st) {
    const std::string key = st.message().substr(0, st.message().find(':'));
    return settings.badValue(key,
                             st.message().substr(std::min(st.message().size(), key.size() + 2)));
  };
  if (core::Status st = mail::checkAddress(options.sender.address, "mail.from"); !st.isOk()) {
    return badMailValue(st);
  }
  if (options.sender.display_name.find_first_of("\r\n") != std::string::npos) {
    return settings.badValue("mail.from_name", "contains a line break");
  }
  SENDFLOW_ASSIGN_OR_RETURN(options.retry.initial,
                            settings.getDuration("mail.retry.initial", std::chrono::minutes(1)));
  SENDFLOW_ASSIGN_OR_RETURN(options.retry.max,
                            settings.getDuration("mail.retry.max", std::chrono::hours(1)));
  SENDFLOW_ASSIGN_OR_RETURN(long long attempts, settings.getInt("mail.retry.attempts", 12));
  if (attempts < 1 || attempts > 1000) {
    return settings.badValue("mail.retry.attempts", "must be 1 to 1000");
  }
  options.retry.attempts = static_cast<int>(attempts);
  if (core::Status st = mail::checkRetryPolicy(options.retry); !st.isOk()) return badMailValue(st);
  options.resolver = mail::userDirectoryResolver(*services.store);
  services.mail_log = std::make_shared<std::function<void(const std::string&)>>(
      [](const std::string& line) { std::clog << "sendflow: " << line << std::endl; });
  options.log = [sink = services.mail_log](const std::string& line) { (*sink)(line); };

  SENDFLOW_ASSIGN_OR_RETURN(const std::string transport,
                            settings.getString("mail.transport", "folder"));
  if (transport == "folder") {
    SENDFLOW_ASSIGN_OR_RETURN(std::string dir, settings.getPath("mail.outbox.dir", "var/outbox"));
    if (dir.empty()) return settings.badValue("mail.outbox.dir", "is empty");
    services.mailer = std::make_unique<mail::FolderMailer>(dir);
    services.state_folders.push_back(dir);
  } else if (transport == "smtp") {
    mail::SmtpOptions smtp;
    SENDFLOW_ASSIGN_OR_RETURN(smtp.host, settings.getString("mail.smtp.host", ""));
    SENDFLOW_ASSIGN_OR_RETURN(long long port, settings.getInt("mail.smtp.port", 25));
    smtp.port = port < 0 || port > 65535 ? 0 : static_cast<int>(port);
    SENDFLOW_ASSIGN_OR_RETURN(const std::string starttls,
                              settings.getString("mail.smtp.starttls", "required"));
    auto mode = mail::parseStartTls(starttls);
    if (!mode.isOk()) return settings.badValue("mail.smtp.starttls", mode.status().message());
    smtp.starttls = *mode;
    SENDFLOW_ASSIGN_OR_RETURN(smtp.username, settings.getString("mail.smtp.username", ""));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.password, settings.getString("mail.smtp.password", ""));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.allow_plain_auth,
                              settings.getBool("mail.smtp.allow_plain_auth", false));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.ca_file, settings.getPath("mail.smtp.ca_file", ""));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.verify_peer, settings.getBool("mail.smtp.verify_peer", true));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.timeout,
                              settings.getDuration("mail.smtp.timeout", std::chrono::seconds(30)));
    SENDFLOW_ASSIGN_OR_RETURN(smtp.helo_name, settings.getString("mail.smtp.helo_name", ""));
    if (core::Status st = mail::checkSmtpOptions(smtp); !st.isOk()) return badMailValue(st);
    services.mailer = std::make_unique<mail::SmtpMailer>(std::move(smtp));
  } else {
    return settings.badValue("mail.transport", "'" + transport + "' is not folder or smtp");
  }
  services.outbox = std::make_unique<mail::OutboxDispatcher>(*services.store, *services.mailer,
                                                             *services.clock, std::move(options));
  return core::Status::ok();
}

}  // namespace

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
  SENDFLOW_ASSIGN_OR_RETURN(const std::string max_size,
                            settings.getString("store.sqlite.max_size", ""));
  if (!max_size.empty()) {
    auto bytes = parseByteSize(max_size);
    if (!bytes.isOk()) return settings.badValue("store.sqlite.max_size", bytes.status().message());
    sqlite.max_bytes = static_cast<long long>(*bytes);
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
  SENDFLOW_ASSIGN_OR_RETURN(options.public_url, settings.getString("http.public_url", ""));
  while (!options.public_url.empty() && options.public_url.back() == '/') {
    options.public_url.pop_back();
  }
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

  SENDFLOW_RETURN_IF_ERROR(openMail(settings, *services));
  SENDFLOW_ASSIGN_OR_RETURN(std::string documents, documentsFolder(settings));
  services->state_folders.push_back(std::move(documents));
  for (const std::string& folder : services->state_folders) {
    SENDFLOW_RETURN_IF_ERROR(core::createPrivateFolders(folder));
  }

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
