//! The service registry: every loaded service definition, by id.
//!
//! Built-in definitions are compiled into the binary (see [`builtin_sources`]); a
//! `--services-dir` adds more, and a file there with a built-in's id replaces the built-in.
//! A broken definition stops start-up with `file:line: reason` for every problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use haven_core::definition::load::{DefinitionError, DefinitionProblem, parse_definition};
use haven_core::definition::onward::parse_template;
use haven_core::definition::{DocumentTemplate, ServiceDefinition};

/// The built-in definitions: `(file name, TOML source)`.
///
/// Compiled in so that `haven serve` needs no files besides its data directory.
pub fn builtin_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "services/cyber-choices.toml",
            include_str!("../../../services/cyber-choices.toml"),
        ),
        (
            "services/secos.toml",
            include_str!("../../../services/secos.toml"),
        ),
        (
            "services/ceop.toml",
            include_str!("../../../services/ceop.toml"),
        ),
    ]
}

/// The built-in document templates of onward referrals: `(service id, template, source)`,
/// read from `services/templates/<service>/<template>.toml`.
pub fn builtin_templates() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "secos",
            "vemt_referral",
            include_str!("../../../services/templates/secos/vemt_referral.toml"),
        ),
        (
            "secos",
            "police_intelligence",
            include_str!("../../../services/templates/secos/police_intelligence.toml"),
        ),
        (
            "secos",
            "childrens_services_referral",
            include_str!("../../../services/templates/secos/childrens_services_referral.toml"),
        ),
        (
            "ceop",
            "childrens_social_care",
            include_str!("../../../services/templates/ceop/childrens_social_care.toml"),
        ),
        (
            "ceop",
            "police_child_protection_unit",
            include_str!("../../../services/templates/ceop/police_child_protection_unit.toml"),
        ),
    ]
}

/// Template sources by `(service id, template)`: `(file name, source)`.
type TemplateSources = BTreeMap<(String, String), (String, String)>;

fn builtin_template_sources() -> TemplateSources {
    builtin_templates()
        .into_iter()
        .map(|(service, name, source)| {
            (
                (service.to_owned(), name.to_owned()),
                (
                    format!("services/templates/{service}/{name}.toml"),
                    source.to_owned(),
                ),
            )
        })
        .collect()
}

/// Every `templates/<service>/<name>.toml` under a services directory.
fn read_dir_templates(dir: &Path) -> Result<TemplateSources, RegistryError> {
    let mut out = TemplateSources::new();
    let root = dir.join("templates");
    if !root.is_dir() {
        return Ok(out);
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RegistryError::Io { path, source }
    };
    let mut services: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(io(&root))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    services.sort();
    for service_dir in services {
        let Some(service) = service_dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        for (path, source) in read_dir_sources(&service_dir)? {
            let Some(name) = Path::new(&path).file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            out.insert(
                (service.to_owned(), name.to_owned()),
                (path.clone(), source),
            );
        }
    }
    Ok(out)
}

/// The templates of every onward referral kind of `def`, checked against it.
fn load_templates(
    def: &ServiceDefinition,
    file: &str,
    sources: &TemplateSources,
) -> Result<BTreeMap<String, DocumentTemplate>, Vec<DefinitionError>> {
    let mut templates = BTreeMap::new();
    let mut broken = Vec::new();
    for kind in &def.onward_referrals {
        let Some((template_file, source)) = sources.get(&(def.id.clone(), kind.template.clone()))
        else {
            broken.push(DefinitionError {
                file: file.to_owned(),
                problems: vec![DefinitionProblem {
                    line: 1,
                    reason: format!(
                        "onward referral `{}` names template `{}`, but there is no templates/{}/{}.toml",
                        kind.key, kind.template, def.id, kind.template
                    ),
                }],
            });
            continue;
        };
        match parse_template(template_file, source, def, kind) {
            Ok(template) => {
                let mut problems = Vec::new();
                for text in template.texts() {
                    if let Err(reason) = crate::documents::check_syntax(text) {
                        let line = source
                            .find(text)
                            .map_or(1, |at| haven_core::definition::load::line_of(source, at));
                        problems.push(DefinitionProblem { line, reason });
                    }
                }
                if problems.is_empty() {
                    templates.insert(kind.key.clone(), template);
                } else {
                    broken.push(DefinitionError {
                        file: template_file.clone(),
                        problems,
                    });
                }
            }
            Err(e) => broken.push(e),
        }
    }
    if broken.is_empty() {
        Ok(templates)
    } else {
        Err(broken)
    }
}

/// Why the registry could not be built. All of these are bad input (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Broken definitions; the `Display` is one `file:line: reason` line per problem.
    #[error("{}", join_lines(.0))]
    Definitions(Vec<DefinitionError>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{second}:1: service id `{id}` is also defined in {first}")]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    #[error("{second}: intake address `{address}` is also an intake address of {first}")]
    SharedIntakeAddress {
        address: String,
        first: String,
        second: String,
    },
}

/// No two services share an intake address: a message must go to exactly one service.
fn check_intake_addresses(
    services: &BTreeMap<String, Arc<LoadedService>>,
) -> Result<(), RegistryError> {
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for service in services.values() {
        for address in &service.definition.intake_addresses {
            if let Some(first) = owner.insert(address.trim().to_lowercase(), &service.file) {
                if first != service.file {
                    return Err(RegistryError::SharedIntakeAddress {
                        address: address.clone(),
                        first: first.to_owned(),
                        second: service.file.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// A loaded definition and the file it came from.
#[derive(Debug)]
pub struct LoadedService {
    pub definition: ServiceDefinition,
    /// The document template of each onward referral kind, by kind key.
    pub templates: BTreeMap<String, DocumentTemplate>,
    /// File name for messages (`services/secos.toml`, or the path in `--services-dir`).
    pub file: String,
}

/// Every service Haven runs, by id. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    services: Arc<BTreeMap<String, Arc<LoadedService>>>,
}

impl Registry {
    /// The built-ins, then every `*.toml` in `services_dir` (replacing built-ins by id).
    pub fn load(services_dir: Option<&Path>) -> Result<Self, RegistryError> {
        let mut sources: Vec<(String, String)> = builtin_sources()
            .into_iter()
            .map(|(file, source)| (file.to_owned(), source.to_owned()))
            .collect();
        let builtin_count = sources.len();
        let mut template_sources = builtin_template_sources();
        if let Some(dir) = services_dir {
            sources.extend(read_dir_sources(dir)?);
            template_sources.extend(read_dir_templates(dir)?);
        }
        let mut services: BTreeMap<String, Arc<LoadedService>> = BTreeMap::new();
        let mut from_dir: BTreeMap<String, String> = BTreeMap::new();
        let mut broken: Vec<DefinitionError> = Vec::new();
        for (index, (file, source)) in sources.into_iter().enumerate() {
            let definition = match parse_definition(&file, &source) {
                Ok(def) => def,
                Err(e) => {
                    // Keep going: report every broken file, not just the first.
                    broken.push(e);
                    continue;
                }
            };
            let id = definition.id.clone();
            if index >= builtin_count {
                if let Some(first) = from_dir.insert(id.clone(), file.clone()) {
                    return Err(RegistryError::DuplicateId {
                        id,
                        first,
                        second: file,
                    });
                }
            }
            let templates = match load_templates(&definition, &file, &template_sources) {
                Ok(t) => t,
                Err(mut e) => {
                    broken.append(&mut e);
                    continue;
                }
            };
            services.insert(
                id,
                Arc::new(LoadedService {
                    definition,
                    templates,
                    file,
                }),
            );
        }
        if !broken.is_empty() {
            return Err(RegistryError::Definitions(broken));
        }
        check_intake_addresses(&services)?;
        Ok(Self {
            services: Arc::new(services),
        })
    }

    /// A registry of exactly these `(file name, source)` definitions (no built-ins).
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RegistryError> {
        let mut services = BTreeMap::new();
        let template_sources = builtin_template_sources();
        for (file, source) in sources {
            let definition =
                parse_definition(file, source).map_err(|e| RegistryError::Definitions(vec![e]))?;
            let id = definition.id.clone();
            let templates = load_templates(&definition, file, &template_sources)
                .map_err(RegistryError::Definitions)?;
            let loaded = LoadedService {
                definition,
                templates,
                file: file.to_owned(),
            };
            if let Some(first) = services.insert(id.clone(), Arc::new(loaded)) {
                return Err(RegistryError::DuplicateId {
                    id,
                    first: first.file.clone(),
                    second: file.to_owned(),
                });
            }
        }
        check_intake_addresses(&services)?;
        Ok(Self {
            services: Arc::new(services),
        })
    }

    /// Every service's intake addresses, as `(address, service id)` pairs
    /// (for `haven_email::routing::service_for`).
    pub fn intake_addresses(&self) -> Vec<(String, String)> {
        self.definitions()
            .flat_map(|d| d.intake_addresses.iter().map(|a| (a.clone(), d.id.clone())))
            .collect()
    }

    /// The service with this id.
    pub fn get(&self, id: &str) -> Option<&ServiceDefinition> {
        self.services.get(id).map(|s| &s.definition)
    }

    /// The document template of onward referral kind `kind` of `service`.
    pub fn template(&self, service: &str, kind: &str) -> Option<&DocumentTemplate> {
        self.services.get(service)?.templates.get(kind)
    }

    /// Every service with the file it came from, by id.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedService> {
        self.services.values().map(AsRef::as_ref)
    }

    /// Every service definition, by id.
    pub fn definitions(&self) -> impl Iterator<Item = &ServiceDefinition> {
        self.iter().map(|s| &s.definition)
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

fn join_lines(errors: &[DefinitionError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(path, source)` of every `*.toml` in `dir`, sorted by name so loading is deterministic.
fn read_dir_sources(dir: &Path) -> Result<Vec<(String, String)>, RegistryError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RegistryError::Io { path, source }
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).map_err(io(&path))?;
            Ok((path.display().to_string(), source))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_services_load() {
        let registry = Registry::load(None).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = registry.definitions().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["ceop", "cyber-choices", "secos"]);
    }

    #[test]
    fn a_services_dir_replaces_a_built_in_by_id_and_adds_others() {
        let dir = tempfile::tempdir().unwrap();
        let secos: Vec<String> = include_str!("../../../services/secos.toml")
            .lines()
            .map(|line| {
                if line.starts_with("name = ") {
                    "name = \"Replaced\"".to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect();
        let secos = secos.join("\n");
        std::fs::write(dir.path().join("secos.toml"), secos).unwrap();
        let registry = Registry::load(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            registry.get("secos").map(|d| d.name.as_str()),
            Some("Replaced")
        );
        assert_eq!(registry.iter().count(), 3);
    }

    #[test]
    fn two_services_cannot_share_an_intake_address() {
        let registry = Registry::load(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            registry.intake_addresses(),
            [(
                "secos.project@secos.cjsm.net".to_owned(),
                "secos".to_owned()
            )]
        );
        let dir = tempfile::tempdir().unwrap();
        let ceop = include_str!("../../../services/ceop.toml").replacen(
            "\nid = \"ceop\"\n",
            "\nid = \"ceop\"\nintake_addresses = [\"SECOS.Project@secos.cjsm.net\"]\n",
            1,
        );
        assert!(ceop.contains("intake_addresses"), "the fixture was edited");
        std::fs::write(dir.path().join("ceop.toml"), ceop).unwrap();
        let err = Registry::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("is also an intake address of"), "{err}");
        assert!(
            err.contains("ceop.toml") && err.contains("secos.toml"),
            "{err}"
        );
    }
}
