//! `stateful=True`: a recurrent layer's next call starts from the previous call's final states.
//! Two calls equal one call on the joined sequence (for every cell kind and both scan modes),
//! `reset_states()` starts over, an explicit initial state wins, the batch size stays fixed,
//! clones carry copies, and the gradient of a call stops at the carried state.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rnnlab_layers::burn::module::Module;
use rnnlab_layers::burn::tensor::{Device, Distribution, Tensor};
use rnnlab_layers::{
    Backend, BidirectionalConfig, DenseConfig, GruConfig, Layer, LayerConfig, LayersError, LstmConfig, ScanMode,
    Sequential, Shape, SimpleRnnConfig, TimeDistributedConfig,
};

/// Burn's random generator is global: `twins` seeds it and builds two models that must draw the
/// same weights, so no other test of this file may draw in between (they ran in parallel, and
/// one run in ten built twins with different weights). Each test holds this for its whole body.
static RANDOM_GENERATOR: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    RANDOM_GENERATOR.lock().unwrap_or_else(PoisonError::into_inner)
}

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

fn max_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A stateful stack (a `kind` layer, a GRU with `reset_after=False`, TimeDistributed(Dense)) and
/// its non-stateful twin with the same weights.
fn twins(kind: &str, scan: ScanMode, device: &Device) -> (Sequential, Sequential) {
    let build = |stateful: bool| {
        rnnlab_layers::seed(device, 5);
        let builder = Sequential::builder(Shape::sequence(3));
        let builder = match kind {
            "SimpleRNN" => builder.add(
                SimpleRnnConfig::new(6)
                    .with_return_sequences(true)
                    .with_stateful(stateful)
                    .with_scan(scan),
            ),
            "LSTM" => builder.add(
                LstmConfig::new(6)
                    .with_return_sequences(true)
                    .with_stateful(stateful)
                    .with_scan(scan),
            ),
            "GRU" => builder.add(
                GruConfig::new(6)
                    .with_return_sequences(true)
                    .with_stateful(stateful)
                    .with_scan(scan),
            ),
            other => panic!("{other}"),
        };
        builder
            .add(
                GruConfig::new(4)
                    .with_reset_after(false)
                    .with_return_sequences(true)
                    .with_stateful(stateful)
                    .with_scan(scan),
            )
            .add(TimeDistributedConfig::new(DenseConfig::new(2)))
            .build(device)
            .unwrap()
    };
    (build(true), build(false))
}

#[test]
fn two_stateful_calls_equal_one_call_on_the_joined_sequence() {
    let _serial = serial();
    let device = device();
    for scan in [ScanMode::Auto, ScanMode::Generic] {
        for kind in ["SimpleRNN", "LSTM", "GRU"] {
            let (stateful, plain) = twins(kind, scan, &device);
            assert!(stateful.is_stateful() && !plain.is_stateful());
            let x = Tensor::<3>::random([4, 9, 3], Distribution::Uniform(-1.0, 1.0), &device);
            let (x1, x2) = (x.clone().narrow(1, 0, 5), x.clone().narrow(1, 5, 4));
            let whole = plain.forward1(x.into()).unwrap().into_3d("y").unwrap();
            let y1 = stateful.forward1(x1.clone().into()).unwrap().into_3d("y").unwrap();
            let y2 = stateful.forward1(x2.into()).unwrap().into_3d("y").unwrap();
            let gap1 = max_gap(&values(y1.clone()), &values(whole.clone().narrow(1, 0, 5)));
            let gap2 = max_gap(&values(y2), &values(whole.narrow(1, 5, 4)));
            assert!(gap1 < 1e-6 && gap2 < 1e-5, "{kind} {scan:?}: {gap1} {gap2}");

            // Without a reset the same input continues the sequence; after one it starts over.
            let again = stateful.forward1(x1.clone().into()).unwrap().into_3d("y").unwrap();
            assert!(max_gap(&values(again), &values(y1.clone())) > 1e-4, "{kind}");
            stateful.reset_states();
            let fresh = stateful.forward1(x1.into()).unwrap().into_3d("y").unwrap();
            assert_eq!(values(fresh), values(y1), "{kind} {scan:?}");
        }
    }
}

#[test]
fn the_batch_size_stays_until_a_reset_and_an_explicit_state_wins() {
    let _serial = serial();
    let device = device();
    let layer = LstmConfig::new(3)
        .with_stateful(true)
        .init(&Shape::sequence(2), &device)
        .unwrap();
    assert!(layer.is_stateful() && layer.carried_states().is_none());
    let x = |b: usize| Tensor::<3>::ones([b, 4, 2], &device);
    let first = layer.forward(x(2), None, None).unwrap();
    let carried = layer.carried_states().unwrap();
    assert_eq!((carried.len(), carried[0].dims()), (2, [2, 3]));
    match layer.forward(x(3), None, None) {
        Err(LayersError::Config { what, why }) => {
            assert!(what.contains("stateful LSTM"), "{what}");
            assert!(
                why.contains("state of 2 sequences") && why.contains("reset_states()"),
                "{why}"
            );
        }
        other => panic!("{:?}", other.map(|o| o.last.dims())),
    }
    // A refused call leaves the carried state alone.
    assert_eq!(
        layer.carried_states().unwrap()[1].clone().into_data(),
        carried[1].clone().into_data()
    );
    // An explicit initial state takes precedence over the carried one (Keras), and is carried on.
    let zeros = vec![Tensor::<2>::zeros([3, 3], &device), Tensor::<2>::zeros([3, 3], &device)];
    let from_zeros = layer.forward(x(3), Some(zeros), None).unwrap();
    assert_eq!(
        from_zeros.last.clone().narrow(0, 0, 2).into_data(),
        first.last.clone().into_data()
    );
    assert_eq!(layer.carried_states().unwrap()[0].dims(), [3, 3]);
    layer.reset_states();
    assert!(layer.forward(x(5), None, None).is_ok());
}

#[test]
fn a_clone_carries_a_copy_of_the_state() {
    let _serial = serial();
    let device = device();
    let model = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(4).with_stateful(true))
        .build(&device)
        .unwrap();
    let x = Tensor::<3>::ones([1, 3, 1], &device);
    let first = model.forward1(x.clone().into()).unwrap().to_vec().unwrap();
    let copy = model.clone();
    let on_original = model.forward1(x.clone().into()).unwrap().to_vec().unwrap();
    let on_copy = copy.forward1(x.clone().into()).unwrap().to_vec().unwrap();
    assert_eq!(on_original, on_copy);
    assert_ne!(on_original, first);
    copy.reset_states();
    assert_eq!(copy.forward1(x.clone().into()).unwrap().to_vec().unwrap(), first);
    // The original kept its own state.
    assert_ne!(model.forward1(x.into()).unwrap().to_vec().unwrap(), first);
}

#[test]
fn bidirectional_carries_both_directions_and_resets_both() {
    let _serial = serial();
    let device = device();
    let layer = BidirectionalConfig::new(GruConfig::new(3).with_stateful(true))
        .init(&Shape::sequence(2), &device)
        .unwrap();
    assert!(layer.is_stateful());
    let x = Tensor::<3>::random([2, 5, 2], Distribution::Uniform(-1.0, 1.0), &device);
    let first = layer.forward(x.clone(), None, None).unwrap();
    let second = layer.forward(x.clone(), None, None).unwrap();
    // Each direction starts from its own final states of the first call.
    let fwd = layer.forward_layer().carried_states().unwrap();
    let bwd = layer.backward_layer().carried_states().unwrap();
    assert_eq!(fwd[0].clone().into_data(), second.forward_states[0].clone().into_data());
    assert_eq!(
        bwd[0].clone().into_data(),
        second.backward_states[0].clone().into_data()
    );
    assert_ne!(first.outputs[0].to_vec().unwrap(), second.outputs[0].to_vec().unwrap());
    Layer::reset_states(&layer);
    let fresh = layer.forward(x, None, None).unwrap();
    assert_eq!(fresh.outputs[0].to_vec().unwrap(), first.outputs[0].to_vec().unwrap());
}

#[test]
fn the_gradient_of_a_call_stops_at_the_carried_state() {
    let _serial = serial();
    // Training a stateful model (Keras: truncated backpropagation through time) — the second
    // call's loss depends on the weights through its own steps only, and autodiff calls may
    // follow plain ones and back.
    let ad = device().autodiff();
    let layer = SimpleRnnConfig::new(3)
        .with_stateful(true)
        .init(&Shape::sequence(1), &ad)
        .unwrap();
    let x = Tensor::<3>::ones([2, 4, 1], &ad);
    let _ = layer.forward(x.clone(), None, None).unwrap();
    let carried = layer.carried_states().unwrap();
    assert!(!carried[0].is_autodiff());
    let out = layer.forward(x.clone(), None, None).unwrap();
    let grads = out.last.sum().backward();
    let g = layer.cell().kernel.grad(&grads).unwrap();
    assert!(g.abs().sum().into_scalar::<f32>() > 0.0);
    let plain = layer.clone().valid();
    let next = plain
        .forward(Tensor::<3>::ones([2, 4, 1], &device()), None, None)
        .unwrap();
    assert_eq!(next.last.dims(), [2, 3]);
}
