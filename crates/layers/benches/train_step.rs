//! One training step (forward + backward, batch 32, 50 steps) of the lecture's deep RNN
//! (3 × SimpleRNN: 20, 20, 1 units) and of a 3 × LSTM(20) stack, rnnlab vs Burn's own
//! `nn::Rnn` / `nn::Lstm` on the default flex backend. Prints the ratios at the end.
use std::time::Instant;

use burn::module::Module;
use burn::nn::{Lstm as BurnLstm, LstmConfig as BurnLstmConfig, Rnn as BurnRnn, RnnConfig as BurnRnnConfig};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use rnnlab_layers::{Backend, LstmConfig, Sequential, Shape, SimpleRnnConfig};

#[derive(Module, Debug)]
struct BurnDeepRnn {
    l1: BurnRnn,
    l2: BurnRnn,
    l3: BurnRnn,
}

#[derive(Module, Debug)]
struct BurnDeepLstm {
    l1: BurnLstm,
    l2: BurnLstm,
    l3: BurnLstm,
}

fn rnnlab_deep_rnn(d: &Device) -> Sequential {
    Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(20).with_return_sequences(true))
        .add(SimpleRnnConfig::new(20).with_return_sequences(true))
        .add(SimpleRnnConfig::new(1))
        .build(d)
        .unwrap()
}

fn rnnlab_deep_lstm(d: &Device) -> Sequential {
    Sequential::builder(Shape::sequence(1))
        .add(LstmConfig::new(20).with_return_sequences(true))
        .add(LstmConfig::new(20).with_return_sequences(true))
        .add(LstmConfig::new(1))
        .build(d)
        .unwrap()
}

fn step_rnnlab(model: &Sequential, x: &Tensor<3>, y: &Tensor<2>) {
    let out = model.forward1(x.clone().into()).unwrap();
    let rnnlab_layers::AnyTensor::D2(pred) = out else {
        unreachable!()
    };
    let _ = (pred - y.clone()).square().mean().backward();
}

fn step_burn_rnn(m: &BurnDeepRnn, x: &Tensor<3>, y: &Tensor<2>) {
    let (s1, _) = m.l1.forward(x.clone(), None);
    let (s2, _) = m.l2.forward(s1, None);
    let (_, st) = m.l3.forward(s2, None);
    let _ = (st.hidden - y.clone()).square().mean().backward();
}

fn step_burn_lstm(m: &BurnDeepLstm, x: &Tensor<3>, y: &Tensor<2>) {
    let (s1, _) = m.l1.forward(x.clone(), None);
    let (s2, _) = m.l2.forward(s1, None);
    let (_, st) = m.l3.forward(s2, None);
    let _ = (st.hidden - y.clone()).square().mean().backward();
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..30)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn bench(c: &mut Criterion) {
    let d = Backend::Flex.device().unwrap().autodiff();
    let x = Tensor::<3>::random([32, 50, 1], Distribution::Uniform(-1.0, 1.0), &d);
    let y = Tensor::<2>::random([32, 1], Distribution::Uniform(-1.0, 1.0), &d);
    let ours_rnn = rnnlab_deep_rnn(&d);
    let ours_lstm = rnnlab_deep_lstm(&d);
    let burn_rnn = BurnDeepRnn {
        l1: BurnRnnConfig::new(1, 20, true).init(&d),
        l2: BurnRnnConfig::new(20, 20, true).init(&d),
        l3: BurnRnnConfig::new(20, 1, true).init(&d),
    };
    let burn_lstm = BurnDeepLstm {
        l1: BurnLstmConfig::new(1, 20, true).init(&d),
        l2: BurnLstmConfig::new(20, 20, true).init(&d),
        l3: BurnLstmConfig::new(20, 1, true).init(&d),
    };
    let mut g = c.benchmark_group("train_step");
    g.sample_size(20);
    g.bench_function("rnnlab 3xSimpleRNN", |b| b.iter(|| step_rnnlab(&ours_rnn, &x, &y)));
    g.bench_function("burn nn::Rnn x3", |b| b.iter(|| step_burn_rnn(&burn_rnn, &x, &y)));
    g.bench_function("rnnlab 3xLSTM", |b| b.iter(|| step_rnnlab(&ours_lstm, &x, &y)));
    g.bench_function("burn nn::Lstm x3", |b| b.iter(|| step_burn_lstm(&burn_lstm, &x, &y)));
    g.finish();
    let (a, b) = (
        median_ms(|| step_rnnlab(&ours_rnn, &x, &y)),
        median_ms(|| step_burn_rnn(&burn_rnn, &x, &y)),
    );
    let (c2, d2) = (
        median_ms(|| step_rnnlab(&ours_lstm, &x, &y)),
        median_ms(|| step_burn_lstm(&burn_lstm, &x, &y)),
    );
    println!(
        "deep RNN step: rnnlab {a:.2} ms, burn nn::Rnn {b:.2} ms: rnnlab {:.2}x faster",
        b / a
    );
    println!(
        "3xLSTM step:   rnnlab {c2:.2} ms, burn nn::Lstm {d2:.2} ms: rnnlab {:.2}x faster",
        d2 / c2
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
