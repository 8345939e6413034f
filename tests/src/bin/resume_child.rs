//! Test helper for the kill-and-resume test: trains a small recurrent model with checkpoints in
//! `DIR` for `EPOCHS` epochs (resuming if `DIR` holds a checkpoint) and prints the final weights'
//! bit patterns. Usage: `resume_child DIR EPOCHS`.
use rnnlab_layers::{Backend, DenseConfig, Layer, Sequential, SimpleRnnConfig};
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
    let model = Sequential::new(vec![
        Layer::SimpleRnn(SimpleRnnConfig::new(1, 16).init(&device).expect("valid config")),
        Layer::Dense(DenseConfig::new(16, 1).init(&device).unwrap()),
    ]);
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
    let bits: Vec<String> = model
        .layers
        .iter()
        .flat_map(|l| l.keras_weights())
        .flat_map(|w| w.to_vec())
        .map(|v| format!("{:08x}", (v as f32).to_bits()))
        .collect();
    println!("EPOCHS {}", history.epochs());
    println!("WEIGHTS {}", bits.join(""));
}
