
mod demo;
