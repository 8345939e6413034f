//! Layers behind a pointer: [`DynLayer`] is the object-safe face of every [`Layer`], so that a
//! [`Sequential`](crate::Sequential) can hold any mix of built-in and user layers and still be one
//! Burn [`Module`] (parameters, optimizer steps, records).
//!
//! Burn's module traversal is generic over the tensor rank (`visit_float::<D>`), which a trait
//! object cannot carry. Crossing the pointer, each parameter travels as `&dyn Any` with its rank,
//! and the rank is turned back into a const generic on the other side. Ranks up to
//! [`MAX_PARAM_RANK`] cross; a layer with a higher-rank parameter is refused when it is boxed
//! ([`check_ranks`]), so the traversal itself never meets one.

use std::any::Any;
use std::fmt::Debug;

use burn::module::{
    Content, DisplaySettings, Flag, Module, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor, Param,
};
use burn::tensor::{Bool, Device, Int, Tensor};

use super::{Input, Layer, LayerConfig, LayerOutput, Shape};
use crate::{AnyTensor, KerasArray, LayersError};

/// The highest parameter rank a boxed layer may have.
pub const MAX_PARAM_RANK: usize = 6;

/// Any [`Layer`] behind a pointer (`Box<dyn DynLayer>`), as [`Sequential`](crate::Sequential)
/// holds its layers. Implemented for every `Layer`; not meant to be implemented by hand.
///
/// ```
/// use rnnlab_layers::{Backend, Dense, DenseConfig, Sequential, Shape};
/// let model = Sequential::builder(Shape::vector(3)).add(DenseConfig::new(2)).build(&Backend::Flex.device()?)?;
/// let layer = &model.layers()[0];
/// assert_eq!((layer.keras_class(), layer.param_count()), ("Dense".to_string(), 8));
/// assert!(layer.as_any().downcast_ref::<Dense>().is_some());
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub trait DynLayer: Send + Debug {
    /// See [`Layer::keras_class`].
    fn keras_class(&self) -> String;
    /// See [`Layer::keras_config`].
    fn keras_config(&self) -> serde_json::Value;
    /// See [`Layer::output_shape`].
    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError>;
    /// See [`Layer::forward`].
    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, burn::tensor::Bool>>,
    ) -> Result<LayerOutput, LayersError>;
    /// See [`Layer::keras_weights`].
    fn keras_weights(&self) -> Vec<AnyTensor>;
    /// See [`Layer::with_keras_weights`].
    fn with_keras_weights(
        self: Box<Self>,
        arrays: &[KerasArray],
        device: &Device,
    ) -> Result<Box<dyn DynLayer>, LayersError>;
    /// See [`Layer::param_count`].
    fn param_count(&self) -> usize;
    /// See [`Layer::is_stateful`].
    fn is_stateful(&self) -> bool;
    /// See [`Layer::reset_states`].
    fn reset_states(&self);
    /// The concrete layer, for downcasting (`as_any().downcast_ref::<Dense>()`).
    fn as_any(&self) -> &dyn Any;

    // The Module part, one method per Module method, with erased visitors and mappers.
    #[doc(hidden)]
    fn visit_erased(&self, visitor: &mut dyn ErasedVisitor);
    #[doc(hidden)]
    fn map_erased(self: Box<Self>, mapper: &mut dyn ErasedMapper) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn collect_devices_erased(&self, devices: Vec<Device>) -> Vec<Device>;
    #[doc(hidden)]
    fn fork_erased(self: Box<Self>, device: &Device) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn to_device_erased(self: Box<Self>, device: &Device) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn train_erased(self: Box<Self>) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn valid_erased(&self) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn materialize_erased(self: Box<Self>) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn clone_erased(&self) -> Box<dyn DynLayer>;
    #[doc(hidden)]
    fn format_erased(&self, settings: DisplaySettings) -> String;
}

impl<L: Layer> DynLayer for L {
    fn keras_class(&self) -> String {
        Layer::keras_class(self)
    }
    fn keras_config(&self) -> serde_json::Value {
        Layer::keras_config(self)
    }
    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        Layer::output_shape(self, input)
    }
    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, burn::tensor::Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        Layer::forward(self, input, initial_state, mask)
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        Layer::keras_weights(self)
    }
    fn with_keras_weights(
        self: Box<Self>,
        arrays: &[KerasArray],
        device: &Device,
    ) -> Result<Box<dyn DynLayer>, LayersError> {
        Ok(Box::new(Layer::with_keras_weights(*self, arrays, device)?))
    }
    fn param_count(&self) -> usize {
        Layer::param_count(self)
    }
    fn is_stateful(&self) -> bool {
        Layer::is_stateful(self)
    }
    fn reset_states(&self) {
        Layer::reset_states(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn visit_erased(&self, visitor: &mut dyn ErasedVisitor) {
        self.visit(&mut ToErasedVisitor(visitor));
    }
    fn map_erased(self: Box<Self>, mapper: &mut dyn ErasedMapper) -> Box<dyn DynLayer> {
        Box::new(self.map(&mut ToErasedMapper(mapper)))
    }
    fn collect_devices_erased(&self, devices: Vec<Device>) -> Vec<Device> {
        self.collect_devices(devices)
    }
    fn fork_erased(self: Box<Self>, device: &Device) -> Box<dyn DynLayer> {
        Box::new(self.fork(device))
    }
    fn to_device_erased(self: Box<Self>, device: &Device) -> Box<dyn DynLayer> {
        Box::new(self.to_device(device))
    }
    fn train_erased(self: Box<Self>) -> Box<dyn DynLayer> {
        Box::new(Module::train(*self))
    }
    fn valid_erased(&self) -> Box<dyn DynLayer> {
        Box::new(self.valid())
    }
    fn materialize_erased(self: Box<Self>) -> Box<dyn DynLayer> {
        Box::new(self.materialize())
    }
    fn clone_erased(&self) -> Box<dyn DynLayer> {
        Box::new(self.clone())
    }
    fn format_erased(&self, settings: DisplaySettings) -> String {
        self.format(settings)
    }
}

/// Boxes a layer after checking that its parameters can cross the pointer.
pub(crate) fn boxed_layer<L: Layer>(layer: L) -> Result<Box<dyn DynLayer>, LayersError> {
    check_ranks(&layer)?;
    Ok(Box::new(layer))
}

/// Refuses a layer with a parameter of rank above [`MAX_PARAM_RANK`].
pub(crate) fn check_ranks<M: Module>(module: &M) -> Result<(), LayersError> {
    struct MaxRank(usize);
    impl ModuleVisitor for MaxRank {
        fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<D>>) {
            self.0 = self.0.max(D);
        }
        fn visit_int<const D: usize>(&mut self, _: &Param<Tensor<D, Int>>) {
            self.0 = self.0.max(D);
        }
        fn visit_bool<const D: usize>(&mut self, _: &Param<Tensor<D, Bool>>) {
            self.0 = self.0.max(D);
        }
    }
    let mut max = MaxRank(0);
    module.visit(&mut max);
    if max.0 > MAX_PARAM_RANK {
        return Err(LayersError::Config {
            what: "layer parameters".into(),
            why: format!(
                "a parameter of rank {} is above the {MAX_PARAM_RANK} a Sequential supports; reshape it",
                max.0
            ),
        });
    }
    Ok(())
}

impl Clone for Box<dyn DynLayer> {
    fn clone(&self) -> Self {
        self.clone_erased()
    }
}

impl Module for Box<dyn DynLayer> {
    fn collect_devices(&self, devices: Vec<Device>) -> Vec<Device> {
        self.as_ref().collect_devices_erased(devices)
    }
    fn fork(self, device: &Device) -> Self {
        self.fork_erased(device)
    }
    fn to_device(self, device: &Device) -> Self {
        self.to_device_erased(device)
    }
    fn train(self) -> Self {
        self.train_erased()
    }
    fn valid(&self) -> Self {
        self.as_ref().valid_erased()
    }
    fn materialize(self) -> Self {
        self.materialize_erased()
    }
    fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.as_ref().visit_erased(&mut FromErasedVisitor(visitor));
    }
    fn map<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        self.map_erased(&mut FromErasedMapper(mapper))
    }
}

impl ModuleDisplayDefault for Box<dyn DynLayer> {
    fn content(&self, content: Content) -> Option<Content> {
        Some(content.set_top_level_type(&self.keras_class()))
    }
    fn num_params(&self) -> usize {
        self.as_ref().param_count()
    }
}

impl ModuleDisplay for Box<dyn DynLayer> {
    fn format(&self, settings: DisplaySettings) -> String {
        self.as_ref().format_erased(settings)
    }
}

/// The kinds of parameter tensors Burn's traversal distinguishes.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Float,
    Int,
    Bool,
}

/// Burn's [`ModuleVisitor`] with the rank as a value.
#[doc(hidden)]
pub trait ErasedVisitor {
    fn visit(&mut self, kind: ParamKind, rank: usize, param: &dyn Any);
    fn visit_flag(&mut self, flag: &Param<Flag>);
    fn enter_module(&mut self, name: &str, container_type: &str);
    fn exit_module(&mut self, name: &str, container_type: &str);
}

/// Burn's [`ModuleMapper`] with the rank as a value.
#[doc(hidden)]
pub trait ErasedMapper {
    fn map(&mut self, kind: ParamKind, rank: usize, param: Box<dyn Any + Send>) -> Box<dyn Any + Send>;
    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag>;
    fn enter_module(&mut self, name: &str, container_type: &str);
    fn exit_module(&mut self, name: &str, container_type: &str);
}

/// Inside the box: the layer's own traversal, forwarded with ranks as values.
struct ToErasedVisitor<'a>(&'a mut dyn ErasedVisitor);

impl ModuleVisitor for ToErasedVisitor<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.visit(ParamKind::Float, D, param);
    }
    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        self.0.visit(ParamKind::Int, D, param);
    }
    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        self.0.visit(ParamKind::Bool, D, param);
    }
    fn visit_flag(&mut self, flag: &Param<Flag>) {
        self.0.visit_flag(flag);
    }
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.0.enter_module(name, container_type);
    }
    fn exit_module(&mut self, name: &str, container_type: &str) {
        self.0.exit_module(name, container_type);
    }
}

struct ToErasedMapper<'a>(&'a mut dyn ErasedMapper);

/// Takes back what an erased mapper returned. [`FromErasedMapper`] hands back a value of the
/// type it was given (mapped, or untouched when it cannot name the type), so the cast holds.
fn unbox<T: Any>(value: Box<dyn Any + Send>) -> T {
    *value
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("an erased mapper returns the type it was given"))
}

impl ModuleMapper for ToErasedMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        unbox(self.0.map(ParamKind::Float, D, Box::new(param)))
    }
    fn map_int<const D: usize>(&mut self, param: Param<Tensor<D, Int>>) -> Param<Tensor<D, Int>> {
        unbox(self.0.map(ParamKind::Int, D, Box::new(param)))
    }
    fn map_bool<const D: usize>(&mut self, param: Param<Tensor<D, Bool>>) -> Param<Tensor<D, Bool>> {
        unbox(self.0.map(ParamKind::Bool, D, Box::new(param)))
    }
    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        self.0.map_flag(flag)
    }
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.0.enter_module(name, container_type);
    }
    fn exit_module(&mut self, name: &str, container_type: &str) {
        self.0.exit_module(name, container_type);
    }
}

/// Turns a rank value back into a const generic `$d` for `$body` (ranks 1 to [`MAX_PARAM_RANK`];
/// `boxed` refused layers with others, so `$other` only runs for rank 0, which Burn never visits).
macro_rules! with_rank {
    ($rank:expr, $d:ident => $body:expr, $other:expr) => {
        match $rank {
            1 => {
                const $d: usize = 1;
                $body
            }
            2 => {
                const $d: usize = 2;
                $body
            }
            3 => {
                const $d: usize = 3;
                $body
            }
            4 => {
                const $d: usize = 4;
                $body
            }
            5 => {
                const $d: usize = 5;
                $body
            }
            6 => {
                const $d: usize = 6;
                $body
            }
            _ => $other,
        }
    };
}

/// Outside the box: the caller's visitor, given each parameter at its rank again.
struct FromErasedVisitor<'a, V>(&'a mut V);

impl<V: ModuleVisitor> ErasedVisitor for FromErasedVisitor<'_, V> {
    fn visit(&mut self, kind: ParamKind, rank: usize, param: &dyn Any) {
        with_rank!(rank, D => match kind {
            ParamKind::Float => if let Some(p) = param.downcast_ref::<Param<Tensor<D>>>() { self.0.visit_float(p) },
            ParamKind::Int => if let Some(p) = param.downcast_ref::<Param<Tensor<D, Int>>>() { self.0.visit_int(p) },
            ParamKind::Bool => if let Some(p) = param.downcast_ref::<Param<Tensor<D, Bool>>>() { self.0.visit_bool(p) },
        }, ())
    }
    fn visit_flag(&mut self, flag: &Param<Flag>) {
        self.0.visit_flag(flag);
    }
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.0.enter_module(name, container_type);
    }
    fn exit_module(&mut self, name: &str, container_type: &str) {
        self.0.exit_module(name, container_type);
    }
}

struct FromErasedMapper<'a, M>(&'a mut M);

/// Maps a boxed parameter of a known type with `f`; any other value passes unchanged.
fn map_as<T: Any + Send>(param: Box<dyn Any + Send>, f: impl FnOnce(T) -> T) -> Box<dyn Any + Send> {
    match param.downcast::<T>() {
        Ok(p) => Box::new(f(*p)),
        Err(other) => other,
    }
}

impl<M: ModuleMapper> ErasedMapper for FromErasedMapper<'_, M> {
    fn map(&mut self, kind: ParamKind, rank: usize, param: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
        let mapper = &mut *self.0;
        with_rank!(rank, D => match kind {
            ParamKind::Float => map_as(param, |p: Param<Tensor<D>>| mapper.map_float(p)),
            ParamKind::Int => map_as(param, |p: Param<Tensor<D, Int>>| mapper.map_int(p)),
            ParamKind::Bool => map_as(param, |p: Param<Tensor<D, Bool>>| mapper.map_bool(p)),
        }, param)
    }
    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        self.0.map_flag(flag)
    }
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.0.enter_module(name, container_type);
    }
    fn exit_module(&mut self, name: &str, container_type: &str) {
        self.0.exit_module(name, container_type);
    }
}

/// Any [`LayerConfig`] behind a pointer, so a model's layers can be listed before they are built.
pub trait DynLayerConfig {
    /// Builds the boxed layer for `input`.
    fn init_boxed(&self, input: &Shape, device: &Device) -> Result<Box<dyn DynLayer>, LayersError>;
}

impl<C: LayerConfig> DynLayerConfig for C {
    fn init_boxed(&self, input: &Shape, device: &Device) -> Result<Box<dyn DynLayer>, LayersError> {
        boxed_layer(self.init(input, device)?)
    }
}
