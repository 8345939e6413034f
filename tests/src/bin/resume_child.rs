//! Test helper for the kill-and-resume test: trains a small recurrent model with checkpoints in
//! `DIR` for `EPOCHS` epochs (resuming if `DIR` holds a checkpoint) and prints the final weights'
//! bit patterns. Usage: `resume_child DIR EPOCHS`.
use rnnlab_layers::{Backend, DenseConfig, Sequential, Shape, SimpleRnnConfig};
use rnnlab_train::{Dataset, FitConfig, OptimizerConfig, fit};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(epochs)) = (args.next(), args.next().and_then(|e| e.parse::<usize>().ok())) else {
        eprintln!("usage: resume_child DIR EPOCHS");
        std::process::exit(2);
    };
    let plain = Backend::Flex.device().expect("flex is compiled");
    rnnlab_layers::seed(&plain, 7);
    let device = plain.autodiff();
    let n = 4000;
    let x: Vec<f32> = (0..n * 10)
        .map(|i| (((i * 7919) % 1013) as f32 / 1013.0) - 0.5)
        .collect();
    let y: Vec<f32> = x.chunks(10).map(|r| r.iter().sum::<f32>() / 10.0).collect();
    let data = Dataset::new(x, [n, 10, 1], y, 1).expect("consistent toy data");
    let model = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(16))
        .add(DenseConfig::new(1))
        .build(&device)
        .expect("valid config");
    let cfg = FitConfig::new(epochs)
        .with_optimizer(OptimizerConfig::adam(0.01))
        .with_seed(11)
        .with_checkpoint_dir(&dir);
    let (model, history) = match fit(model, &data, None, &cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("resume_child: {e}");
            std::process::exit(1);
        }
    };
    let mut bits = Vec::new();
    for weight in model.layers().iter().flat_map(|l| l.keras_weights()) {
        let values = weight.to_vec().unwrap_or_else(|e| {
            eprintln!("resume_child: {e}");
            std::process::exit(1);
        });
        bits.extend(values.iter().map(|&v| format!("{:08x}", (v as f32).to_bits())));
    }
    println!("EPOCHS {}", history.epochs());
    println!("WEIGHTS {}", bits.join(""));
}
