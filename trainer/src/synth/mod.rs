//! `trainer synth`: renders a synthetic multi-view vehicle re-identification dataset from
//! real vehicle meshes over real photographs, in the VeRi-776 layout, with view labels,
//! foreground masks and ground-truth part masks; and camera streams with ground truth.

pub mod assets;
pub mod camera;
pub mod contact;
pub mod dataset;
pub mod degrade;
pub mod identity;
pub mod layout;
pub mod mesh;
pub mod preset;
pub mod raster;
pub mod scene;
pub mod shade;
pub mod streams;
pub mod view;
pub mod world;

use std::path::PathBuf;

/// Version of what the renderer draws: bumped whenever the same preset and seed would give
/// different images, so that caches of renders (the demo's) and a model's record of the
/// data it was trained on can tell renders apart. 2: paints jittered per identity, light,
/// elevation and degradation jittered per image, camera elevations 5–48°.
pub const RENDERER_VERSION: u32 = 2;

/// Options of `trainer synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Dataset size.
    #[arg(long, value_enum, default_value = "small")]
    pub preset: preset::PresetName,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 776)]
    pub seed: u64,
    /// Output directory (default: `<cache>/out/<preset>-<seed>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Cache for downloaded packages (default: $SPANREID_CACHE, $XDG_CACHE_HOME/spanreid
    /// or ~/.cache/spanreid).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Override the number of identities of the preset.
    #[arg(long)]
    pub identities: Option<u32>,
    /// Skip the camera streams.
    #[arg(long)]
    pub no_streams: bool,
    /// How hard the camera streams are: `normal`, or `hard` (denser traffic, more
    /// oncoming vehicles, rain and haze, stronger blur).
    #[arg(long, value_enum, default_value = "normal")]
    pub streams: streams::Traffic,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Errors of the synth command.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Fetching packages failed.
    #[error(transparent)]
    Assets(#[from] assets::AssetError),
    /// A vehicle failed to load.
    #[error("loading vehicle {key}: {source}")]
    Vehicle {
        /// Catalog key.
        key: String,
        /// Cause.
        source: mesh::catalog::CatalogError,
    },
    /// A photograph failed to load.
    #[error("loading photograph {path}: {message}")]
    Photo {
        /// The file.
        path: PathBuf,
        /// Decoder message.
        message: String,
    },
    /// Writing output failed.
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    /// Stats could not be serialised.
    #[error("serialising stats: {0}")]
    Stats(#[from] toml::ser::Error),
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// Runs `trainer synth`.
pub fn run(args: SynthArgs) -> Result<(), SynthError> {
    let cache = assets::cache_dir(args.cache.as_deref())?;
    let mut preset = args.preset.preset();
    if let Some(n) = args.identities {
        preset.identities = n.max(2);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        cache
            .join("out")
            .join(format!("{:?}-{}", args.preset, args.seed).to_lowercase())
    });
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = args.threads {
            b = b.num_threads(t);
        }
        b.build()?
    };
    pool.install(|| {
        let root = assets::ensure(&cache)?;
        let summary = dataset::render(&root, &out, &preset, args.preset, args.seed)?;
        tracing::info!(
            images = summary.images,
            seconds = summary.seconds,
            images_per_second = summary.images as f64 / summary.seconds.max(1e-9),
            out = %out.display(),
            "dataset written"
        );
        if !args.no_streams && preset.streams {
            let s = streams::render_streams(&root, &out, &preset, args.seed, args.streams)?;
            tracing::info!(frames = s.frames, seconds = s.seconds, "streams written");
        }
        Ok(())
    })
}
